"""AEAD record protection: which cipher a suite uses, and decrypting one record.

TLS 1.3 (RFC 8446 5.2-5.3): nonce = iv XOR seq, additional data = the record
header, and the plaintext ends with the real content type plus zero padding.
TLS 1.2 GCM/CCM (RFC 5288, 6655): nonce = 4-byte implicit salt + 8-byte
explicit nonce sent before the ciphertext; ChaCha20-Poly1305 (RFC 7905) uses
the 1.3-style XOR nonce. Both 1.2 forms authenticate seq + type + version +
plaintext length. CBC suites are not handled (the lab negotiates AEAD).
"""
from __future__ import annotations

from dataclasses import dataclass

CONTENT_TYPES = {20: "change_cipher_spec", 21: "alert", 22: "handshake",
                 23: "application_data", 24: "heartbeat"}


@dataclass(frozen=True)
class CipherSpec:
    aead: str          # "AESGCM", "CHACHA20", "AESCCM"
    key_len: int
    fixed_iv_len: int  # TLS 1.2: salt (4) or full nonce (12); TLS 1.3: always 12
    explicit_len: int  # TLS 1.2 explicit nonce bytes in each record
    tag_len: int
    hash_name: str


def cipher_spec(suite: str, tls13: bool) -> CipherSpec | None:
    """The record cipher of an IANA suite name; None for CBC and unknown suites."""
    hash_name = "sha384" if suite.endswith("SHA384") else "sha256"
    for marker, aead, key_len in (("AES_128_GCM", "AESGCM", 16), ("AES_256_GCM", "AESGCM", 32),
                                  ("CHACHA20_POLY1305", "CHACHA20", 32),
                                  ("AES_128_CCM", "AESCCM", 16), ("AES_256_CCM", "AESCCM", 32)):
        if marker in suite and not suite.endswith("_OLD"):
            tag = 8 if "CCM_8" in suite else 16
            if tls13 or aead == "CHACHA20":
                return CipherSpec(aead, key_len, 12, 0, tag, hash_name)
            return CipherSpec(aead, key_len, 4, 8, tag, hash_name)
    return None


class RecordKeys:
    """One direction's key and IV, with the AEAD object built once."""

    def __init__(self, spec: CipherSpec, key: bytes, iv: bytes):
        from cryptography.hazmat.primitives.ciphers import aead

        self.spec, self.key, self.iv = spec, key, iv
        if spec.aead == "AESGCM":
            self._aead = aead.AESGCM(key)
        elif spec.aead == "CHACHA20":
            self._aead = aead.ChaCha20Poly1305(key)
        else:
            self._aead = aead.AESCCM(key, tag_length=spec.tag_len)

    def _open(self, nonce: bytes, ciphertext: bytes, aad: bytes) -> bytes:
        from cryptography.exceptions import InvalidTag
        try:
            return self._aead.decrypt(nonce, ciphertext, aad)
        except InvalidTag:
            raise ValueError("authentication failed (wrong keys or sequence number)") from None

    def _xor_nonce(self, seq: int) -> bytes:
        seq_bytes = seq.to_bytes(len(self.iv), "big")
        return bytes(a ^ b for a, b in zip(self.iv, seq_bytes))


def decrypt13(keys: RecordKeys, seq: int, header: bytes, body: bytes) -> tuple[int, bytes]:
    """(real content type, content) of a TLS 1.3 encrypted record."""
    inner = keys._open(keys._xor_nonce(seq), body, header)
    end = len(inner)
    while end and inner[end - 1] == 0:
        end -= 1  # zero padding, RFC 8446 5.4
    if not end:
        raise ValueError("no content type in the decrypted record")
    return inner[end - 1], inner[:end - 1]


def decrypt12(keys: RecordKeys, seq: int, ctype: int, version: bytes, body: bytes) -> bytes:
    spec = keys.spec
    plain_len = len(body) - spec.explicit_len - spec.tag_len
    if plain_len < 0:
        raise ValueError("record shorter than its nonce and tag")
    if spec.explicit_len:
        nonce = keys.iv + body[:spec.explicit_len]
    else:
        nonce = keys._xor_nonce(seq)
    aad = seq.to_bytes(8, "big") + bytes([ctype]) + version + plain_len.to_bytes(2, "big")
    return keys._open(nonce, body[spec.explicit_len:], aad)
