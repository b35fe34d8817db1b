"""Pure TLS record and hello handling for the MITM: split records, read and
rewrite a ClientHello, read a ServerHello and a Certificate message.

Byte layouts follow RFC 8446 4.1.2/4.1.3/4.4.2 and RFC 5246 7.4.1.2/7.4.2.
Everything takes and returns bytes; malformed input raises ValueError.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, replace

HANDSHAKE, ALERT, CCS, APPDATA = 22, 21, 20, 23
CLIENT_HELLO, SERVER_HELLO, CERTIFICATE = 1, 2, 11
EXT_SERVER_NAME, EXT_SUPPORTED_VERSIONS = 0, 43
TLS10, TLS11, TLS12, TLS13 = 0x0301, 0x0302, 0x0303, 0x0304
VERSION_NAMES = {0x0300: "SSLv3", TLS10: "TLSv1.0", TLS11: "TLSv1.1", TLS12: "TLSv1.2",
                 TLS13: "TLSv1.3"}
VERSION_CODES = {"1.0": TLS10, "1.1": TLS11, "1.2": TLS12, "1.3": TLS13}
MAX_RECORD = 16384
# Signalling values, not suites: renegotiation_info (RFC 5746) and fallback (RFC 7507).
SCSVS = (0x00FF, 0x5600)
# RFC 8446 4.1.3: a TLS 1.3 server negotiating 1.2 (or below) ends its random with these.
SENTINELS = {b"DOWNGRD\x01": "TLSv1.2", b"DOWNGRD\x00": "TLSv1.1 or below"}


@dataclass(frozen=True)
class Record:
    content_type: int
    version: int
    body: bytes


def split_records(data: bytes) -> tuple[list[Record], bytes]:
    """Whole records at the front of `data`, and the incomplete rest."""
    out, off = [], 0
    while off + 5 <= len(data):
        ctype, version, length = struct.unpack_from("!BHH", data, off)
        if off + 5 + length > len(data):
            break
        out.append(Record(ctype, version, data[off + 5:off + 5 + length]))
        off += 5 + length
    return out, data[off:]


def encode_records(content_type: int, version: int, body: bytes) -> bytes:
    """`body` as records of at most 2^14 bytes each (RFC 8446 5.1)."""
    out = bytearray()
    for i in range(0, max(len(body), 1), MAX_RECORD):
        piece = body[i:i + MAX_RECORD]
        out += struct.pack("!BHH", content_type, version, len(piece)) + piece
    return bytes(out)


def first_handshake_message(records: list[Record]) -> bytes | None:
    """The first handshake message (header included) across leading handshake
    records; None until it is complete. Raises ValueError if the stream does
    not start with handshake records."""
    buf = bytearray()
    for rec in records:
        if rec.content_type != HANDSHAKE:
            raise ValueError(f"expected a handshake record, got content type {rec.content_type}")
        buf += rec.body
        if len(buf) >= 4:
            end = 4 + int.from_bytes(buf[1:4], "big")
            if len(buf) >= end:
                return bytes(buf[:end])
    return None


@dataclass(frozen=True)
class ClientHello:
    legacy_version: int
    random: bytes
    session_id: bytes
    cipher_suites: tuple[int, ...]
    compression: bytes
    extensions: tuple[tuple[int, bytes], ...]

    def extension(self, ext_type: int) -> bytes | None:
        return next((data for t, data in self.extensions if t == ext_type), None)


class _Reader:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise ValueError("truncated")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return int.from_bytes(self.take(2), "big")

    def u24(self) -> int:
        return int.from_bytes(self.take(3), "big")

    def vec(self, size: int) -> bytes:
        return self.take(int.from_bytes(self.take(size), "big"))

    @property
    def left(self) -> int:
        return len(self.data) - self.pos


def _extensions(r: _Reader) -> tuple[tuple[int, bytes], ...]:
    if not r.left:
        return ()
    block = _Reader(r.vec(2))
    out = []
    while block.left:
        ext_type = block.u16()
        out.append((ext_type, block.vec(2)))
    return tuple(out)


def parse_client_hello(msg: bytes) -> ClientHello:
    r = _Reader(msg)
    if r.u8() != CLIENT_HELLO:
        raise ValueError("not a ClientHello")
    r = _Reader(r.take(r.u24()))
    version, random, sid = r.u16(), r.take(32), r.vec(1)
    suites_raw = r.vec(2)
    suites = tuple(int.from_bytes(suites_raw[i:i + 2], "big") for i in range(0, len(suites_raw), 2))
    return ClientHello(version, random, sid, suites, r.vec(1), _extensions(r))


def encode_client_hello(ch: ClientHello) -> bytes:
    exts = b"".join(struct.pack("!HH", t, len(d)) + d for t, d in ch.extensions)
    body = (struct.pack("!H", ch.legacy_version) + ch.random
            + bytes([len(ch.session_id)]) + ch.session_id
            + struct.pack("!H", 2 * len(ch.cipher_suites))
            + b"".join(struct.pack("!H", s) for s in ch.cipher_suites)
            + bytes([len(ch.compression)]) + ch.compression
            + struct.pack("!H", len(exts)) + exts)
    return bytes([CLIENT_HELLO]) + len(body).to_bytes(3, "big") + body


def is_grease(value: int) -> bool:
    """RFC 8701 reserved values (0x0a0a, 0x1a1a, ...)."""
    return value & 0x0F0F == 0x0A0A and value >> 8 == value & 0xFF


def server_name(ch: ClientHello) -> str | None:
    data = ch.extension(EXT_SERVER_NAME)
    if not data:
        return None
    r = _Reader(_Reader(data).vec(2))
    while r.left:
        kind, name = r.u8(), r.vec(2)
        if kind == 0:
            return name.decode("ascii", "replace")
    return None


def supported_versions(ch: ClientHello) -> tuple[int, ...]:
    """Versions the client offers, GREASE left out; just legacy_version without the extension."""
    data = ch.extension(EXT_SUPPORTED_VERSIONS)
    if data is None:
        return (ch.legacy_version,)
    raw = _Reader(data).vec(1)
    codes = (int.from_bytes(raw[i:i + 2], "big") for i in range(0, len(raw), 2))
    return tuple(v for v in codes if not is_grease(v))


def downgrade(ch: ClientHello, max_version: int = TLS12,
              ciphers: tuple[int, ...] = ()) -> ClientHello:
    """The ClientHello an active attacker forwards: versions above max_version
    removed and, if `ciphers` is given, only those of the offered suites kept.

    Up to TLS 1.2 a server negotiates from legacy_version alone (RFC 8446
    4.2.1), so capping at 1.2 or below drops supported_versions entirely.
    """
    if max_version >= TLS13:
        raise ValueError("max_version must be TLS 1.2 or lower to downgrade")
    exts = tuple((t, d) for t, d in ch.extensions if t != EXT_SUPPORTED_VERSIONS)
    out = replace(ch, legacy_version=min(ch.legacy_version, max_version), extensions=exts)
    if ciphers:
        kept = tuple(s for s in ch.cipher_suites if s in ciphers or s in SCSVS)
        if not any(s in ciphers for s in kept):
            names = ", ".join(f"0x{c:04x}" for c in ciphers)
            raise ValueError(f"the client offers none of {names}")
        out = replace(out, cipher_suites=kept)
    return out


@dataclass(frozen=True)
class ServerHello:
    legacy_version: int
    version: int           # negotiated: supported_versions when present
    random: bytes
    cipher_suite: int
    sentinel: str | None   # the RFC 8446 downgrade sentinel in random, if any

    @property
    def version_name(self) -> str:
        return VERSION_NAMES.get(self.version, f"0x{self.version:04x}")


def parse_server_hello(msg: bytes) -> ServerHello:
    r = _Reader(msg)
    if r.u8() != SERVER_HELLO:
        raise ValueError("not a ServerHello")
    r = _Reader(r.take(r.u24()))
    legacy, random = r.u16(), r.take(32)
    r.vec(1)
    suite, _ = r.u16(), r.u8()
    version = legacy
    for ext_type, data in _extensions(r):
        if ext_type == EXT_SUPPORTED_VERSIONS and len(data) == 2:
            version = int.from_bytes(data, "big")
    return ServerHello(legacy, version, random, suite, SENTINELS.get(random[-8:]))


def certificate_chain(msg: bytes, tls13: bool) -> tuple[bytes, ...]:
    """DER certificates of a Certificate message, leaf first."""
    r = _Reader(msg)
    if r.u8() != CERTIFICATE:
        raise ValueError("not a Certificate message")
    r = _Reader(r.take(r.u24()))
    if tls13:
        r.vec(1)  # certificate_request_context
    entries = _Reader(r.take(r.u24()))
    out = []
    while entries.left:
        out.append(entries.take(entries.u24()))
        if tls13:
            entries.vec(2)  # per-certificate extensions
    return tuple(out)
