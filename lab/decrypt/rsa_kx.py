"""The walkthrough's steps 2.5 and 2.6 computed for real, for RSA key exchange.

The server's private key opens the ClientKeyExchange's encrypted pre-master
secret (PKCS#1 v1.5, RFC 5246 7.4.7.1), and the TLS 1.2 PRF turns it into the
master secret, which must equal the one the client wrote to its key log.
"""
from __future__ import annotations

import glob
import os
from dataclasses import dataclass

from lab.decrypt import kdf


@dataclass(frozen=True)
class ServerKey:
    path: str
    key: object  # an RSAPrivateKey


@dataclass(frozen=True)
class RsaCheck:
    key_file: str
    encrypted_len: int
    pre_master: bytes
    client_version: int     # the first two pre-master bytes: ClientHello's version
    extended: bool          # extended_master_secret negotiated (RFC 7627)
    master: bytes
    keylog_master: bytes | None
    keylog_pre_master: bytes | None

    @property
    def matches_keylog(self) -> bool | None:
        return None if self.keylog_master is None else self.master == self.keylog_master


def load_server_keys(paths: list[str]) -> list[ServerKey]:
    """RSA private keys among PEM files; other files and key types are skipped."""
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    keys = []
    for path in paths:
        try:
            with open(path, "rb") as fh:
                key = load_pem_private_key(fh.read(), password=None)
        except (OSError, ValueError, TypeError):
            continue
        if isinstance(key, rsa.RSAPrivateKey):
            keys.append(ServerKey(path, key))
    return keys


def run_key_files(run_dir: str) -> list[str]:
    return sorted(glob.glob(os.path.join(run_dir, "certs", "*.key")))


def pick_key(keys: list[ServerKey], leaf_der: bytes | None) -> list[ServerKey]:
    """Keys to try, the one matching the server's certificate first.

    Matching by public key matters: OpenSSL 3.2+ answers a wrong key with
    implicit rejection (random bytes, no error), so a wrong key cannot be
    told by a decryption failure alone.
    """
    if leaf_der is None:
        return list(keys)
    from cryptography import x509
    try:
        wanted = x509.load_der_x509_certificate(leaf_der).public_key().public_numbers()
    except ValueError:
        return list(keys)
    return [k for k in keys if k.key.public_key().public_numbers() == wanted]


def decrypt_pre_master(key: ServerKey, encrypted: bytes) -> bytes:
    from cryptography.hazmat.primitives.asymmetric import padding
    return key.key.decrypt(encrypted, padding.PKCS1v15())


def encrypted_pre_master(client_key_exchange: bytes) -> bytes:
    """The ciphertext in an RSA ClientKeyExchange (TLS 1.0+ adds a length)."""
    body = client_key_exchange[4:]
    n = int.from_bytes(body[:2], "big")
    if n + 2 != len(body):
        raise ValueError("ClientKeyExchange length does not match its body")
    return body[2:]


def check(keys: list[ServerKey], leaf_der: bytes | None, cke: bytes, hash_name: str,
          client_random: bytes, server_random: bytes, extended: bool,
          session_hash: bytes, keylog_master: bytes | None,
          keylog_rsa: dict[bytes, bytes]) -> RsaCheck | None:
    """Decrypt the pre-master secret and derive the master secret; None when
    no key fits (a well-formed pre-master secret is 48 bytes)."""
    encrypted = encrypted_pre_master(cke)
    for key in pick_key(keys, leaf_der):
        try:
            pms = decrypt_pre_master(key, encrypted)
        except ValueError:
            continue
        if len(pms) != 48:
            continue
        if extended:
            master = kdf.extended_master_secret(hash_name, pms, session_hash)
        else:
            master = kdf.master_secret(hash_name, pms, client_random, server_random)
        return RsaCheck(key.path, len(encrypted), pms, int.from_bytes(pms[:2], "big"),
                        extended, master, keylog_master, keylog_rsa.get(encrypted[:8]))
    return None
