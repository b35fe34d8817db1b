"""IANA names for cipher suites, groups, alerts and versions, and the dialects
OpenSSL, GnuTLS, Python and tlslite-ng use for them. Pure tables and lookups.
"""
from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Suite:
    iana: str
    code: int
    openssl: str                 # OpenSSL's name (TLS 1.3 suites keep the IANA name)
    gnutls: str                  # as `gnutls-cli -l` lists it
    kx: str | None               # GnuTLS priority keyword; None for TLS 1.3
    cipher: str                  # GnuTLS priority keyword
    mac: str                     # GnuTLS priority keyword
    tlslite: tuple[str, str, str] | None  # (keyExchangeName, cipherName, macName)

    @property
    def tls13(self) -> bool:
        return self.kx is None


def _s(iana, code, openssl, kx, cipher, mac, tlslite, gnutls=None):
    if gnutls is None:
        gnutls = iana.replace("_WITH_", "_")
        gnutls = re.sub(r"_SHA$", "_SHA1", gnutls)
    return Suite(iana, code, openssl, gnutls, kx, cipher, mac, tlslite)


SUITES: tuple[Suite, ...] = (
    _s("TLS_AES_128_GCM_SHA256", 0x1301, "TLS_AES_128_GCM_SHA256", None, "AES-128-GCM", "AEAD", (None, "aes128gcm", "aead")),
    _s("TLS_AES_256_GCM_SHA384", 0x1302, "TLS_AES_256_GCM_SHA384", None, "AES-256-GCM", "AEAD", (None, "aes256gcm", "aead")),
    _s("TLS_CHACHA20_POLY1305_SHA256", 0x1303, "TLS_CHACHA20_POLY1305_SHA256", None, "CHACHA20-POLY1305", "AEAD", (None, "chacha20-poly1305", "aead")),
    _s("TLS_RSA_WITH_AES_128_CBC_SHA", 0x002F, "AES128-SHA", "RSA", "AES-128-CBC", "SHA1", ("rsa", "aes128", "sha")),
    _s("TLS_RSA_WITH_AES_256_CBC_SHA", 0x0035, "AES256-SHA", "RSA", "AES-256-CBC", "SHA1", ("rsa", "aes256", "sha")),
    _s("TLS_RSA_WITH_AES_128_CBC_SHA256", 0x003C, "AES128-SHA256", "RSA", "AES-128-CBC", "SHA256", ("rsa", "aes128", "sha256")),
    _s("TLS_RSA_WITH_AES_128_GCM_SHA256", 0x009C, "AES128-GCM-SHA256", "RSA", "AES-128-GCM", "AEAD", ("rsa", "aes128gcm", "aead")),
    _s("TLS_RSA_WITH_AES_256_GCM_SHA384", 0x009D, "AES256-GCM-SHA384", "RSA", "AES-256-GCM", "AEAD", ("rsa", "aes256gcm", "aead")),
    _s("TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", 0x009E, "DHE-RSA-AES128-GCM-SHA256", "DHE-RSA", "AES-128-GCM", "AEAD", ("dhe_rsa", "aes128gcm", "aead")),
    _s("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", 0xC02B, "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA", "AES-128-GCM", "AEAD", ("ecdhe_ecdsa", "aes128gcm", "aead")),
    _s("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", 0xC02C, "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-ECDSA", "AES-256-GCM", "AEAD", ("ecdhe_ecdsa", "aes256gcm", "aead")),
    _s("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", 0xC013, "ECDHE-RSA-AES128-SHA", "ECDHE-RSA", "AES-128-CBC", "SHA1", ("ecdhe_rsa", "aes128", "sha")),
    _s("TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", 0xC014, "ECDHE-RSA-AES256-SHA", "ECDHE-RSA", "AES-256-CBC", "SHA1", ("ecdhe_rsa", "aes256", "sha")),
    _s("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", 0xC02F, "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA", "AES-128-GCM", "AEAD", ("ecdhe_rsa", "aes128gcm", "aead")),
    _s("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", 0xC030, "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-RSA", "AES-256-GCM", "AEAD", ("ecdhe_rsa", "aes256gcm", "aead")),
    _s("TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", 0xCCA8, "ECDHE-RSA-CHACHA20-POLY1305", "ECDHE-RSA", "CHACHA20-POLY1305", "AEAD",
       ("ecdhe_rsa", "chacha20-poly1305", "aead"), gnutls="TLS_ECDHE_RSA_CHACHA20_POLY1305"),
    _s("TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", 0xCCA9, "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-ECDSA", "CHACHA20-POLY1305", "AEAD",
       ("ecdhe_ecdsa", "chacha20-poly1305", "aead"), gnutls="TLS_ECDHE_ECDSA_CHACHA20_POLY1305"),
)

_BY_NAME: dict[str, Suite] = {}
for _suite in SUITES:
    for _name in (_suite.iana, _suite.openssl, _suite.gnutls):
        _BY_NAME[_name.upper()] = _suite
_BY_CODE = {s.code: s for s in SUITES}


def suite(name: str) -> Suite | None:
    """Look a suite up by IANA, OpenSSL or GnuTLS name (case-insensitive)."""
    return _BY_NAME.get(name.strip().upper())


def suite_by_code(code: int) -> Suite | None:
    return _BY_CODE.get(code)


def cipher_to_iana(name: str | None) -> str | None:
    """Normalise an OpenSSL/GnuTLS/IANA suite name; unknown names pass through unchanged."""
    if not name:
        return None
    found = suite(name)
    return found.iana if found else name.strip()


# --- Versions ---------------------------------------------------------------
_VERSION_RE = re.compile(r"(?:TLS|tls)\s*v?\s*(1)[._](\d)")


def version_name(text: str | None) -> str | None:
    """'TLSv1.3', 'TLS1.2', 'TLS 1.2', '1.2' -> 'TLSv1.3' / 'TLSv1.2'."""
    if not text:
        return None
    m = _VERSION_RE.search(text) or re.fullmatch(r"\s*(1)\.(\d)\s*", text)
    return f"TLSv{m.group(1)}.{m.group(2)}" if m else None


# --- Groups (IANA TLS Supported Groups registry) ----------------------------
GROUPS: dict[int, str] = {
    23: "secp256r1", 24: "secp384r1", 25: "secp521r1", 29: "x25519", 30: "x448",
    256: "ffdhe2048", 257: "ffdhe3072", 258: "ffdhe4096", 259: "ffdhe6144", 260: "ffdhe8192",
}
_GROUP_ALIASES = {
    "p-256": "secp256r1", "prime256v1": "secp256r1", "nistp256": "secp256r1",
    "p-384": "secp384r1", "nistp384": "secp384r1",
    "p-521": "secp521r1", "nistp521": "secp521r1",
}
OPENSSL_GROUPS = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521",
                  "x25519": "X25519", "x448": "X448", "ffdhe2048": "ffdhe2048",
                  "ffdhe3072": "ffdhe3072", "ffdhe4096": "ffdhe4096"}


def group_name(text: str | int | None) -> str | None:
    """IANA group name from an id, an OpenSSL/GnuTLS spelling ('X25519',
    'prime256v1', 'GROUP-SECP256R1', 'SECP256R1'); unknown text passes through."""
    if text is None or text == "":
        return None
    if isinstance(text, int):
        return GROUPS.get(text, f"0x{text:04x}")
    t = text.strip().lower().removeprefix("group-")
    if t in GROUPS.values():
        return t
    return _GROUP_ALIASES.get(t, text.strip())


# --- Alerts (RFC 8446 6, RFC 5246 7.2) --------------------------------------
ALERTS: dict[int, str] = {
    0: "close_notify", 10: "unexpected_message", 20: "bad_record_mac",
    21: "decryption_failed", 22: "record_overflow", 30: "decompression_failure",
    40: "handshake_failure", 41: "no_certificate", 42: "bad_certificate",
    43: "unsupported_certificate", 44: "certificate_revoked", 45: "certificate_expired",
    46: "certificate_unknown", 47: "illegal_parameter", 48: "unknown_ca",
    49: "access_denied", 50: "decode_error", 51: "decrypt_error", 60: "export_restriction",
    70: "protocol_version", 71: "insufficient_security", 80: "internal_error",
    86: "inappropriate_fallback", 90: "user_canceled", 100: "no_renegotiation",
    109: "missing_extension", 110: "unsupported_extension", 111: "certificate_unobtainable",
    112: "unrecognized_name", 113: "bad_certificate_status_response",
    114: "bad_certificate_hash_value", 115: "unknown_psk_identity",
    116: "certificate_required", 120: "no_application_protocol",
}
_ALERT_BY_NAME = {v: k for k, v in ALERTS.items()}
# OpenSSL reason codes that do not spell the RFC name (ssl_err.c).
_OPENSSL_ALERT_REASONS = {"unrecognized_name": "unrecognized_name",
                          "bad_certificate_hash_value": "bad_certificate_hash_value"}


def alert_name(value: str | int | None) -> str | None:
    """RFC name from a number, an RFC name, or the ways OpenSSL and Python put it:
    'SSL alert number 48', 'TLSV1_ALERT_UNKNOWN_CA', 'tlsv1 alert unknown ca',
    'sslv3 alert bad certificate'. Returns None when nothing matches."""
    if value is None:
        return None
    if isinstance(value, int):
        return ALERTS.get(value, f"alert_{value}")
    text = value.strip()
    m = re.search(r"alert number (\d+)", text) or re.fullmatch(r"\[?(\d+)\]?", text)
    if m:
        return alert_name(int(m.group(1)))
    key = re.sub(r"[\s-]+", "_", text.lower())
    key = re.sub(r"^.*?(?:tlsv1[03]?|sslv3)_alert_", "", key)
    key = key.removeprefix("tlsv1_")
    if key in _ALERT_BY_NAME:
        return key
    return _OPENSSL_ALERT_REASONS.get(key)


def alert_code(name: str) -> int:
    return _ALERT_BY_NAME[name]
