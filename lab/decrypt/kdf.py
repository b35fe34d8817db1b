"""Key derivation: the TLS 1.2 PRF (RFC 5246 section 5) and TLS 1.3's
HKDF-Expand-Label (RFC 8446 section 7.1). Pure functions over bytes.

hash_name is a hashlib name, "sha256" or "sha384": the cipher suite's hash,
which TLS 1.2 uses for its PRF and TLS 1.3 for HKDF.
"""
from __future__ import annotations

import hashlib
import hmac


def _hash_cls(hash_name: str):
    from cryptography.hazmat.primitives import hashes
    return {"sha256": hashes.SHA256, "sha384": hashes.SHA384}[hash_name]()


def digest_size(hash_name: str) -> int:
    return hashlib.new(hash_name).digest_size


def transcript_hash(hash_name: str, messages: list[bytes]) -> bytes:
    h = hashlib.new(hash_name)
    for msg in messages:
        h.update(msg)
    return h.digest()


# --- TLS 1.2 -----------------------------------------------------------------

def p_hash(hash_name: str, secret: bytes, seed: bytes, length: int) -> bytes:
    """P_hash(secret, seed): HMAC chained on A(i) = HMAC(secret, A(i-1))."""
    out, a = bytearray(), seed
    while len(out) < length:
        a = hmac.new(secret, a, hash_name).digest()
        out += hmac.new(secret, a + seed, hash_name).digest()
    return bytes(out[:length])


def prf12(hash_name: str, secret: bytes, label: bytes, seed: bytes, length: int) -> bytes:
    return p_hash(hash_name, secret, label + seed, length)


def master_secret(hash_name: str, pre_master: bytes, client_random: bytes,
                  server_random: bytes) -> bytes:
    return prf12(hash_name, pre_master, b"master secret", client_random + server_random, 48)


def extended_master_secret(hash_name: str, pre_master: bytes, session_hash: bytes) -> bytes:
    """RFC 7627: bound to the handshake up to ClientKeyExchange, not the randoms."""
    return prf12(hash_name, pre_master, b"extended master secret", session_hash, 48)


def key_block(hash_name: str, master: bytes, client_random: bytes, server_random: bytes,
              length: int) -> bytes:
    # Note the order: server_random first here, client_random first for the master.
    return prf12(hash_name, master, b"key expansion", server_random + client_random, length)


def finished12(hash_name: str, master: bytes, from_client: bool, handshake_hash: bytes) -> bytes:
    label = b"client finished" if from_client else b"server finished"
    return prf12(hash_name, master, label, handshake_hash, 12)


# --- TLS 1.3 -----------------------------------------------------------------

def hkdf_expand_label(hash_name: str, secret: bytes, label: bytes, context: bytes,
                      length: int) -> bytes:
    from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

    full = b"tls13 " + label
    info = length.to_bytes(2, "big") + bytes([len(full)]) + full + bytes([len(context)]) + context
    return HKDFExpand(_hash_cls(hash_name), length, info).derive(secret)


def traffic_key_iv(hash_name: str, secret: bytes, key_len: int,
                   iv_len: int = 12) -> tuple[bytes, bytes]:
    return (hkdf_expand_label(hash_name, secret, b"key", b"", key_len),
            hkdf_expand_label(hash_name, secret, b"iv", b"", iv_len))


def next_traffic_secret(hash_name: str, secret: bytes) -> bytes:
    """After a KeyUpdate (RFC 8446 7.2)."""
    return hkdf_expand_label(hash_name, secret, b"traffic upd", b"", digest_size(hash_name))


def finished13(hash_name: str, traffic_secret: bytes, handshake_hash: bytes) -> bytes:
    key = hkdf_expand_label(hash_name, traffic_secret, b"finished", b"", digest_size(hash_name))
    return hmac.new(key, handshake_hash, hash_name).digest()


def message_hash(hash_name: str, client_hello: bytes) -> bytes:
    """After a HelloRetryRequest the first ClientHello enters the transcript
    as this synthetic message_hash message (RFC 8446 4.4.1)."""
    digest = hashlib.new(hash_name, client_hello).digest()
    return bytes([254, 0, 0, len(digest)]) + digest
