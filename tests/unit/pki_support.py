"""Shared helpers for the lab.pki tests: cached CAs and the `openssl verify` oracle.

CAs are made once per process (RSA key generation is the slow part); every
leaf a test issues still gets its own key, as in real runs.
"""
from __future__ import annotations

import functools
import subprocess
from pathlib import Path
from typing import Sequence

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from lab.pki import Credential, KeySpec, intermediate_ca, root_ca, write_certificates, write_credential

HOST = "server.lab"


@functools.cache
def issuing_ca(spec: KeySpec, with_intermediate: bool) -> tuple[Credential, Credential]:
    """(root, issuing CA): the issuing CA is the root itself or an intermediate under it."""
    root = root_ca(key_spec=spec)
    return root, (intermediate_ca(root, key_spec=spec) if with_intermediate else root)


def openssl_verify(
    directory: Path,
    cred: Credential,
    trust: Sequence[x509.Certificate],
    *args: str,
    hostname: str | None = HOST,
) -> tuple[int, str]:
    """Run `openssl verify` on cred's leaf, trusting only `trust` and offering
    cred's chain as untrusted intermediates. Returns (exit code, all output)."""
    paths = write_credential(directory, "leaf", cred, trust=trust)
    argv = ["openssl", "verify", "-CAfile", str(paths.ca_bundle)]
    if cred.chain:
        argv += ["-untrusted", str(write_certificates(directory / "intermediates.pem", cred.chain))]
    if hostname:
        argv += ["-verify_hostname", hostname]
    argv += [*args, str(paths.cert)]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    return proc.returncode, proc.stdout + proc.stderr


def verify_chain(cred: Credential) -> None:
    """Check every signature from the leaf up to the anchor with `cryptography`;
    raises (InvalidSignature, ValueError, TypeError) on the first bad link."""
    certs = [cred.cert, *cred.chain, cred.anchor]
    for child, parent in zip(certs, certs[1:]):
        child.verify_directly_issued_by(parent)


def signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Whether issuer's key made cert's signature, ignoring names (unlike
    verify_directly_issued_by, which first insists the names match)."""
    key = issuer.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), cert.signature_hash_algorithm)
        else:
            key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm))
    except InvalidSignature:
        return False
    return True
