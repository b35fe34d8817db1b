"""The certificate the intercepting proxy presents, by name.

Every name but replay-real-cert is a lab.pki variant imitating the real
server's certificate (its subject and SANs copied, as mitmproxy does).
replay-real-cert presents the genuine chain with a fresh key of the same
type: the certificate is perfect, but the proxy cannot prove it owns it.
"""
from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from lab.errors import InputError
from lab.pki import Credential, Target, forge, generate_key
from lab.pki.issue import pem_bundle
from lab.pki.keys import KeySpec, parse_key_spec, private_key_pem

REPLAY = "replay-real-cert"


@dataclass(frozen=True)
class Presented:
    """What the proxy sends: chain PEM (leaf first) and the key it holds."""

    chain_pem: bytes
    key_pem: bytes
    leaf: x509.Certificate
    genuine_key: bool  # False only for replay-real-cert


def load_credential(cert_path: str | None, key_path: str | None) -> Credential | None:
    if not cert_path:
        return None
    if not key_path:
        raise InputError(f"{cert_path}: a CA certificate without its key cannot sign")
    with open(cert_path, "rb") as fh:
        cert = x509.load_pem_x509_certificate(fh.read())
    with open(key_path, "rb") as fh:
        key = serialization.load_pem_private_key(fh.read(), password=None)
    return Credential(cert, key, (), cert)


def matching_key_spec(cert: x509.Certificate) -> KeySpec:
    """A key type the certificate's own signature algorithms still fit."""
    key = cert.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey):
        return KeySpec.ECDSA_P256
    if isinstance(key, rsa.RSAPublicKey) and key.key_size >= 3072:
        return KeySpec.RSA3072
    return KeySpec.RSA2048


def present(name: str, real_chain: tuple[bytes, ...], hostname: str, *,
            ca: Credential | None = None, trusted_ca: Credential | None = None,
            key: str = "rsa2048") -> Presented:
    """The chain and key to present for `name`, given the real server's chain (DER)."""
    if not real_chain:
        raise ValueError("the real server sent no certificate to imitate")
    real = [x509.load_der_x509_certificate(der) for der in real_chain]
    if name == REPLAY:
        wrong = generate_key(matching_key_spec(real[0]))
        return Presented(pem_bundle(real), private_key_pem(wrong), real[0], False)
    target = Target(ca=ca, hostname=hostname, real=real[0], trusted_ca=trusted_ca,
                    key_spec=parse_key_spec(key))
    cred = forge(name, target)
    return Presented(cred.chain_pem, cred.key_pem, cred.cert, True)
