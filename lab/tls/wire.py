"""Just enough handshake parsing to learn the key-exchange group, for stacks
that do not report it (CPython's ssl before 3.13). Input is one handshake
message including its 4-byte header; output is an IANA group id or None.
"""
from __future__ import annotations

import struct

SERVER_HELLO = 2
SERVER_KEY_EXCHANGE = 12
CERTIFICATE = 11
KEY_SHARE = 0x0033
NAMED_CURVE = 3  # RFC 8422 5.4 ECCurveType


def server_hello_group(msg: bytes) -> int | None:
    """Group of the key_share extension in a TLS 1.3 ServerHello (RFC 8446 4.2.8)."""
    if len(msg) < 4 or msg[0] != SERVER_HELLO:
        return None
    pos = 4 + 2 + 32                       # header, legacy_version, random
    if len(msg) < pos + 1:
        return None
    pos += 1 + msg[pos]                    # legacy_session_id_echo
    pos += 2 + 1                           # cipher_suite, legacy_compression_method
    if len(msg) < pos + 2:
        return None                        # no extensions: TLS 1.2 without any
    (ext_total,) = struct.unpack_from("!H", msg, pos)
    pos += 2
    end = min(len(msg), pos + ext_total)
    while pos + 4 <= end:
        ext_type, ext_len = struct.unpack_from("!HH", msg, pos)
        pos += 4
        if ext_type == KEY_SHARE and ext_len >= 2:
            return struct.unpack_from("!H", msg, pos)[0]
        pos += ext_len
    return None


def server_key_exchange_group(msg: bytes) -> int | None:
    """Named curve of a TLS 1.2 ECDHE ServerKeyExchange (RFC 8422 5.4)."""
    if len(msg) >= 7 and msg[0] == SERVER_KEY_EXCHANGE and msg[4] == NAMED_CURVE:
        return struct.unpack_from("!H", msg, 5)[0]
    return None


def first_certificate(msg: bytes, tls13: bool) -> bytes | None:
    """DER of the leaf in a Certificate handshake message (RFC 8446 4.4.2,
    RFC 5246 7.4.2); None if the message is empty or truncated."""
    if len(msg) < 4 or msg[0] != CERTIFICATE:
        return None
    pos = 4
    if tls13:
        if len(msg) < pos + 1:
            return None
        pos += 1 + msg[pos]                # certificate_request_context
    pos += 3                               # certificate_list length
    if len(msg) < pos + 3:
        return None
    size = int.from_bytes(msg[pos:pos + 3], "big")
    der = msg[pos + 3:pos + 3 + size]
    return der if size and len(der) == size else None
