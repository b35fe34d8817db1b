"""Byte corruption past the headers, optionally with a repaired L4 checksum.

Corrupting past the headers keeps the frame deliverable, so the damage is
seen where a real bit error would be: by the TCP/UDP checksum (the default,
the receiver drops the segment) or, with `fix_checksum`, by the application
(TLS then fails its record MAC: a middlebox rewriting bytes).
"""
from __future__ import annotations

from lab.impair import frames


def corrupt(frame: bytes, u: float, *, fix_checksum: bool = False,
            offset: int | None = None) -> bytes:
    """Invert one byte after the headers, at `offset` into the L4 payload or at
    fraction `u` (0 <= u < 1) of it. Frames without payload get a byte in the
    L4 header (or IP payload) instead, so the IP header stays intact.
    """
    pkt = frames.parse(frame)
    if pkt is None:
        start, end = 14, len(frame)
    else:
        start, end = (pkt.payload or pkt.l4), pkt.end
        if start >= end:
            start = pkt.l4
    if start >= end:
        return frame  # nothing past the headers to damage
    pos = start + offset if offset is not None else start + int(u * (end - start))
    pos = min(pos, end - 1)
    out = bytearray(frame)
    out[pos] ^= 0xFF
    if fix_checksum and pkt is not None and pkt.payload:
        _update_checksum(out, pkt, pos, frame[pos])
    return bytes(out)


def _checksum_offset(pkt: frames.Packet) -> int | None:
    if pkt.proto == frames.TCP:
        return pkt.l4 + 16
    if pkt.proto == frames.UDP:
        return pkt.l4 + 6
    if pkt.proto in (frames.ICMP, frames.ICMPV6):
        return pkt.l4 + 2
    return None


def _update_checksum(out: bytearray, pkt: frames.Packet, pos: int, old_byte: int) -> None:
    """RFC 1624 incremental update: HC' = ~(~HC + ~m + m') for the changed word."""
    where = _checksum_offset(pkt)
    if where is None or where <= pos <= where + 1:
        return  # no checksum, or the damage is in the checksum itself
    old_sum = (out[where] << 8) | out[where + 1]
    if pkt.proto == frames.UDP and pkt.version == 4 and old_sum == 0:
        return  # IPv4 UDP without a checksum: nothing to keep valid
    # Words are aligned to the L4 header start (the pseudo-header is even-sized).
    high = (pos - pkt.l4) % 2 == 0
    word = pos if high else pos - 1
    new_word = (out[word] << 8) | (out[word + 1] if word + 1 < pkt.end else 0)
    if high:
        old_word = (old_byte << 8) | (new_word & 0xFF)
    else:
        old_word = (new_word & 0xFF00) | old_byte
    total = (~old_sum & 0xFFFF) + (~old_word & 0xFFFF) + new_word
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    new_sum = ~total & 0xFFFF
    if pkt.proto == frames.UDP and new_sum == 0:
        new_sum = 0xFFFF  # RFC 768: a computed zero is sent as all ones
    out[where], out[where + 1] = new_sum >> 8, new_sum & 0xFF
