"""Parsers for the handshake messages only decryption reveals.

TLS 1.3 encrypts everything after ServerHello (RFC 8446 4.3-4.6); TLS 1.2
encrypts only Finished. Each parser takes one whole message (4-byte header
included) and returns a frozen dataclass, raising ValueError when malformed.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

from lab.analysis import tls_messages as tm


@dataclass(frozen=True)
class EncryptedExtensions:
    extensions: tuple[str, ...]
    alpn: str | None


@dataclass(frozen=True)
class CertificateVerify:
    scheme: str
    signature_len: int


@dataclass(frozen=True)
class Finished:
    verify_data: str           # hex
    verified: bool | None = None  # recomputed from the transcript; None: no secret


@dataclass(frozen=True)
class NewSessionTicket:
    lifetime_s: int
    ticket_len: int
    extensions: tuple[str, ...] = ()


@dataclass(frozen=True)
class KeyUpdate:
    update_requested: bool


def _ext_name(code: int) -> str:
    from scapy.layers.tls.extensions import _tls_ext
    return _tls_ext.get(code) or f"0x{code:04x}"


def extensions(block: bytes) -> list[tuple[int, bytes]]:
    """(type, data) pairs of an extensions block without its length prefix."""
    out, off = [], 0
    while off + 4 <= len(block):
        code, n = struct.unpack_from("!HH", block, off)
        if off + 4 + n > len(block):
            raise ValueError("extension runs past its block")
        out.append((code, block[off + 4:off + 4 + n]))
        off += 4 + n
    return out


def _vec(data: bytes, off: int, width: int) -> tuple[bytes, int]:
    n = int.from_bytes(data[off:off + width], "big")
    if off + width + n > len(data):
        raise ValueError("vector runs past the message")
    return data[off + width:off + width + n], off + width + n


def parse_encrypted_extensions(msg: bytes) -> EncryptedExtensions:
    block, _ = _vec(msg, 4, 2)
    exts = extensions(block)
    alpn = None
    for code, data in exts:
        if code == 16 and len(data) > 3:  # ALPN: list<2> of name<1>, one name chosen
            alpn = data[3:3 + data[2]].decode("ascii", "replace")
    return EncryptedExtensions(tuple(_ext_name(c) for c, _ in exts), alpn)


def parse_certificate13(msg: bytes) -> tm.CertificateChain:
    """TLS 1.3's Certificate: a request context, then entries that each carry
    extensions after the certificate (RFC 8446 4.4.2)."""
    _, off = _vec(msg, 4, 1)
    entries, _ = _vec(msg, off, 3)
    certs, pos = [], 0
    while pos < len(entries):
        der, pos = _vec(entries, pos, 3)
        _, pos = _vec(entries, pos, 2)
        certs.append(tm.certificate_info(der))
    return tm.CertificateChain(tuple(certs))


def certificate_ders(msg: bytes, tls13: bool) -> list[bytes]:
    """The DER certificates of a Certificate message, leaf first."""
    off = 4
    if tls13:
        _, off = _vec(msg, off, 1)
    entries, _ = _vec(msg, off, 3)
    out, pos = [], 0
    while pos < len(entries):
        der, pos = _vec(entries, pos, 3)
        out.append(der)
        if tls13:
            _, pos = _vec(entries, pos, 2)
    return out


def parse_certificate_verify(msg: bytes) -> CertificateVerify:
    if len(msg) < 8:
        raise ValueError("short CertificateVerify")
    scheme = struct.unpack_from("!H", msg, 4)[0]
    sig, _ = _vec(msg, 6, 2)
    return CertificateVerify(tm.signature_scheme_name(scheme), len(sig))


def parse_new_session_ticket(msg: bytes, tls13: bool) -> NewSessionTicket:
    if len(msg) < 10:
        raise ValueError("short NewSessionTicket")
    lifetime = struct.unpack_from("!I", msg, 4)[0]
    if not tls13:  # RFC 5077: lifetime hint, ticket<2>
        ticket, _ = _vec(msg, 8, 2)
        return NewSessionTicket(lifetime, len(ticket))
    _, off = _vec(msg, 12, 1)  # after lifetime and age_add: the nonce
    ticket, off = _vec(msg, off, 2)
    block, _ = _vec(msg, off, 2)
    return NewSessionTicket(lifetime, len(ticket),
                            tuple(_ext_name(c) for c, _ in extensions(block)))


def parse_message(msg: bytes, tls13: bool):
    """The detail of a decrypted handshake message, or None for types without one."""
    kind = msg[0]
    if kind == 8:
        return parse_encrypted_extensions(msg)
    if kind == 11:
        return parse_certificate13(msg) if tls13 else tm.parse_certificate(msg)
    if kind == 15:
        return parse_certificate_verify(msg)
    if kind == 20:
        return Finished(msg[4:].hex())
    if kind == 4:
        return parse_new_session_ticket(msg, tls13)
    if kind == 24:
        return KeyUpdate(len(msg) > 4 and msg[4] == 1)
    return None


def client_hello_extension(msg: bytes, code: int) -> bytes | None:
    """The data of one ClientHello extension, None when absent."""
    _, off = _vec(msg, 38, 1)       # session_id, after type, length, version, random
    _, off = _vec(msg, off, 2)      # cipher_suites
    _, off = _vec(msg, off, 1)      # compression_methods
    if off >= len(msg):
        return None
    block, _ = _vec(msg, off, 2)
    return next((data for c, data in extensions(block) if c == code), None)


def ticket12(msg: bytes) -> bytes:
    """The opaque ticket of a TLS 1.2 NewSessionTicket (RFC 5077 3.3)."""
    ticket, _ = _vec(msg, 8, 2)
    return ticket
