"""Key types the lab issues, key generation, and key encoding.

Every call to `generate_key` makes a fresh key: nothing is cached here, so two
certificates never share a key by accident. Tests that want speed make their
CAs once per session instead.
"""
from __future__ import annotations

import enum
from typing import Union

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from lab.errors import InputError

PrivateKey = Union[rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey]
PublicKey = Union[rsa.RSAPublicKey, ec.EllipticCurvePublicKey]

# 65537 is the only exponent anything accepts without complaint (and the one
# cryptography recommends); small exponents are a classic weakness.
RSA_PUBLIC_EXPONENT = 65537


class KeySpec(enum.Enum):
    """A key type and size; the value is the name used in scenario files."""

    RSA2048 = "rsa2048"
    RSA3072 = "rsa3072"
    ECDSA_P256 = "ecdsa-p256"
    # Too weak on purpose (below OpenSSL security level 2's 2048 bits):
    # only the `weak-key` variant uses it, so users cannot pick it by name.
    RSA1024 = "rsa1024"


USER_KEY_SPECS = (KeySpec.RSA2048, KeySpec.RSA3072, KeySpec.ECDSA_P256)
DEFAULT_KEY_SPEC = KeySpec.RSA2048


def parse_key_spec(name: str) -> KeySpec:
    """The KeySpec a user named; unknown names list the known ones."""
    for spec in USER_KEY_SPECS:
        if spec.value == name:
            return spec
    known = ", ".join(spec.value for spec in USER_KEY_SPECS)
    raise InputError(f"unknown key type {name!r} (known: {known})")


def generate_key(spec: KeySpec) -> PrivateKey:
    """A fresh private key of the given type."""
    if spec is KeySpec.ECDSA_P256:
        return ec.generate_private_key(ec.SECP256R1())
    bits = {KeySpec.RSA1024: 1024, KeySpec.RSA2048: 2048, KeySpec.RSA3072: 3072}[spec]
    return rsa.generate_private_key(public_exponent=RSA_PUBLIC_EXPONENT, key_size=bits)


def private_key_pem(key: PrivateKey) -> bytes:
    """Unencrypted PKCS#8 PEM: every TLS implementation in the lab reads it, and
    the files are protected by their 0600 mode instead of a passphrase."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def key_type(key: PublicKey) -> dict:
    """{"type", "bits"[, "curve"]} of a public key, for display and checks."""
    if isinstance(key, rsa.RSAPublicKey):
        return {"type": "RSA", "bits": key.key_size}
    if isinstance(key, ec.EllipticCurvePublicKey):
        return {"type": "EC", "bits": key.curve.key_size, "curve": key.curve.name}
    return {"type": type(key).__name__, "bits": getattr(key, "key_size", None)}
