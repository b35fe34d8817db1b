"""Human-readable and JSON summaries of PEM files (`tlslab pki show FILE`).

A file may hold several certificates (a chain or CA bundle) and/or keys; each
PEM block is summarised in file order. Nothing is verified here: a summary of
a forged certificate must still be shown, so the user can see what is wrong.
"""
from __future__ import annotations

import os
import re
from datetime import datetime, timezone

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import SignatureAlgorithmOID as Sig

from lab.errors import InputError
from lab.pki.keys import key_type

_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----.*?-----END \1-----", re.S)
_PRIVATE_LABELS = {b"PRIVATE KEY", b"RSA PRIVATE KEY", b"EC PRIVATE KEY", b"ENCRYPTED PRIVATE KEY"}

# OpenSSL's names, so output reads the same as `openssl x509 -text`.
_SIGNATURE_NAMES = {
    Sig.RSA_WITH_SHA1: "sha1WithRSAEncryption",
    Sig.RSA_WITH_SHA256: "sha256WithRSAEncryption",
    Sig.RSA_WITH_SHA384: "sha384WithRSAEncryption",
    Sig.RSA_WITH_SHA512: "sha512WithRSAEncryption",
    Sig.RSASSA_PSS: "rsassaPss",
    Sig.ECDSA_WITH_SHA256: "ecdsa-with-SHA256",
    Sig.ECDSA_WITH_SHA384: "ecdsa-with-SHA384",
    Sig.ECDSA_WITH_SHA512: "ecdsa-with-SHA512",
    Sig.ED25519: "ED25519",
}
_SAN_PREFIXES = {
    x509.DNSName: "DNS",
    x509.IPAddress: "IP",
    x509.RFC822Name: "email",
    x509.UniformResourceIdentifier: "URI",
}


def describe_dict(path: str | os.PathLike, *, now: datetime | None = None) -> dict:
    """{"path": ..., "items": [one dict per PEM block]}, JSON-serialisable."""
    now = now or datetime.now(timezone.utc)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise _not_pem(path, e.strerror or str(e)) from None
    blocks = _BLOCK.finditer(data)
    items = [_describe_block(path, m.group(1), m.group(0), now) for m in blocks]
    if not items:
        raise _not_pem(path, "no PEM block found")
    return {"path": os.fspath(path), "items": items}


def describe(path: str | os.PathLike, *, now: datetime | None = None) -> str:
    """A readable summary of every certificate and key in a PEM file."""
    info = describe_dict(path, now=now)
    items = info["items"]
    out = [f"{info['path']}: {_count(items)}"]
    for i, item in enumerate(items, 1):
        title = "Certificate" if item["kind"] == "certificate" else item["kind"].replace("-", " ").capitalize()
        out += ["", f"{title} {i} of {len(items)}" if len(items) > 1 else title]
        out += [f"  {label + ':':<21}{value}" for label, value in _rows(item)]
    return "\n".join(out) + "\n"


# --- parsing -----------------------------------------------------------------


def _describe_block(path, label: bytes, pem: bytes, now: datetime) -> dict:
    try:
        if label == b"CERTIFICATE":
            return _certificate(x509.load_pem_x509_certificate(pem), now)
        if label in _PRIVATE_LABELS:
            key = serialization.load_pem_private_key(pem, password=None)
            return _key("private-key", key.public_key())
        if label == b"PUBLIC KEY":
            return _key("public-key", serialization.load_pem_public_key(pem))
    except (ValueError, TypeError, UnsupportedAlgorithm) as e:
        # TypeError: an encrypted key and no password; ValueError: bad DER/extensions.
        raise _not_pem(path, f"{label.decode()} block: {e}") from None
    raise _not_pem(path, f"unsupported PEM block {label.decode()!r}")


def _certificate(cert: x509.Certificate, now: datetime) -> dict:
    before, after = cert.not_valid_before_utc, cert.not_valid_after_utc
    try:
        bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        ca = {"ca": bc.ca, "path_length": bc.path_length}
    except x509.ExtensionNotFound:
        ca = {"ca": None, "path_length": None}
    try:
        sans = [_san(g) for g in cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value]
    except x509.ExtensionNotFound:
        sans = []
    oid = cert.signature_algorithm_oid
    return {
        "kind": "certificate",
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "serial": format(cert.serial_number, "x"),
        "not_before": _iso(before),
        "not_after": _iso(after),
        # RFC 5280 4.1.2.5: both ends inclusive.
        "valid_now": before <= now <= after,
        "public_key": key_type(cert.public_key()),
        "signature_algorithm": _SIGNATURE_NAMES.get(oid, oid.dotted_string),
        "sans": sans,
        **ca,
        "sha256": _colons(cert.fingerprint(hashes.SHA256())),
        "spki_sha256": _spki_sha256(cert.public_key()),
    }


def _key(kind: str, public_key) -> dict:
    # The SPKI hash matches the certificate's spki_sha256, pairing keys with certs.
    return {"kind": kind, "public_key": key_type(public_key), "spki_sha256": _spki_sha256(public_key)}


# --- rendering ---------------------------------------------------------------


def _rows(item: dict) -> list[tuple[str, str]]:
    key = _key_text(item["public_key"])
    if item["kind"] != "certificate":
        return [("Public key", key), ("SPKI SHA-256", item["spki_sha256"])]
    if item["ca"] is None:
        ca = "not stated (no basicConstraints)"
    elif item["ca"]:
        limit = item["path_length"]
        ca = "yes" + ("" if limit is None else f" (path length {limit})")
    else:
        ca = "no"
    return [
        ("Subject", item["subject"] or "(empty)"),
        ("Issuer", item["issuer"] or "(empty)"),
        ("Serial", item["serial"]),
        ("Not before", item["not_before"]),
        ("Not after", item["not_after"]),
        ("Valid now", "yes" if item["valid_now"] else "no"),
        ("Public key", key),
        ("Signature algorithm", item["signature_algorithm"]),
        ("SANs", ", ".join(item["sans"]) or "(none)"),
        ("CA", ca),
        ("SHA-256 fingerprint", item["sha256"]),
        ("SPKI SHA-256", item["spki_sha256"]),
    ]


def _key_text(pk: dict) -> str:
    if "curve" in pk:
        return f"{pk['type']} {pk['curve']} ({pk['bits']} bits)"
    return f"{pk['type']} {pk['bits']} bits"


def _count(items: list[dict]) -> str:
    certs = sum(item["kind"] == "certificate" for item in items)
    parts = [f"{certs} certificate{'s' * (certs != 1)}"] if certs else []
    if len(items) > certs:
        keys = len(items) - certs
        parts.append(f"{keys} key{'s' * (keys != 1)}")
    return ", ".join(parts)


def _san(name: x509.GeneralName) -> str:
    return f"{_SAN_PREFIXES.get(type(name), type(name).__name__)}:{name.value}"


def _spki_sha256(public_key) -> str:
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    digest = hashes.Hash(hashes.SHA256())
    digest.update(der)
    return _colons(digest.finalize())


def _colons(digest: bytes) -> str:
    return digest.hex(":").upper()


def _iso(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _not_pem(path, why: str) -> InputError:
    return InputError(f"{os.fspath(path)} is not a PEM certificate or key: {why}")
