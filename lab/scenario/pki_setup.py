"""Issue a scenario's certificates into the run directory (certs/)."""
from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization

from lab.pki import client_cert, forge, intermediate_ca, root_ca, write_credential
from lab.pki.keys import parse_key_spec
from lab.pki.store import write_certificates
from lab.pki.variants import Target


@dataclass(frozen=True)
class IssuedCert:
    name: str
    cert: str        # leaf
    key: str
    chain: str       # leaf + intermediates
    spki_pin: str    # base64(sha256(SubjectPublicKeyInfo))
    sha256: str      # hex fingerprint of the leaf


@dataclass(frozen=True)
class RunPki:
    ca_bundle: str   # the run's root CA: what clients with trust: ca trust
    certs: dict


def issue_all(cert_specs, certs_dir: str) -> RunPki:
    os.makedirs(certs_dir, exist_ok=True)
    root = root_ca("tlslab root CA")
    ca_path = os.path.join(certs_dir, "ca.pem")
    write_certificates(ca_path, [root.cert])
    issued = {}
    for spec in cert_specs:
        key_spec = parse_key_spec(spec.key)
        if spec.client:
            cred = client_cert(root, spec.names[0], key_spec)
        else:
            issuer = intermediate_ca(root) if spec.intermediate else root
            cred = forge(spec.variant, Target(ca=issuer, hostname=spec.names[0],
                                              sans=spec.names, key_spec=key_spec))
        paths = write_credential(certs_dir, spec.name, cred, trust=[root.cert])
        spki = cred.cert.public_key().public_bytes(serialization.Encoding.DER,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)
        der = cred.cert.public_bytes(serialization.Encoding.DER)
        issued[spec.name] = IssuedCert(
            spec.name, str(paths.cert), str(paths.key), str(paths.chain),
            base64.b64encode(hashlib.sha256(spki).digest()).decode(),
            hashlib.sha256(der).hexdigest())
    return RunPki(ca_path, issued)
