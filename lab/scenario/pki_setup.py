"""Issue a scenario's certificates into the run directory (certs/)."""
from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization

from pathlib import Path

from lab.pki import client_cert, forge, intermediate_ca, root_ca, trusted_ca, write_credential
from lab.pki.keys import parse_key_spec
from lab.pki.store import write_certificates, write_file
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
    ca_key: str = ""            # for a MITM forging under the real CA (wrong-host, expired)
    attacker_ca: str = ""       # an attacker CA, and a bundle trusting both (trust: ca+attacker)
    attacker_key: str = ""
    both_bundle: str = ""


def issue_all(cert_specs, certs_dir: str) -> RunPki:
    os.makedirs(certs_dir, exist_ok=True)
    root = root_ca("tlslab root CA")
    ca_path = os.path.join(certs_dir, "ca.pem")
    write_certificates(ca_path, [root.cert])
    write_file(Path(certs_dir, "ca.key"), root.key_pem, 0o600)
    attacker = trusted_ca()
    write_certificates(os.path.join(certs_dir, "attacker-ca.pem"), [attacker.cert])
    write_file(Path(certs_dir, "attacker-ca.key"), attacker.key_pem, 0o600)
    write_certificates(os.path.join(certs_dir, "ca-and-attacker.pem"), [root.cert, attacker.cert])
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
    return RunPki(ca_path, issued, os.path.join(certs_dir, "ca.key"),
                  os.path.join(certs_dir, "attacker-ca.pem"),
                  os.path.join(certs_dir, "attacker-ca.key"),
                  os.path.join(certs_dir, "ca-and-attacker.pem"))
