"""Reassemble one direction of a TCP connection into its byte stream.

Bytes are placed by sequence number, each byte kept from the first segment
that carried it (retransmitted copies are dropped). A byte "arrives" when the
stream becomes contiguous up to it: bytes that came early, beyond a hole,
arrive with the segment that fills the hole, as a receiver would deliver them.
"""
from __future__ import annotations

import bisect
import heapq
from dataclasses import dataclass, field

from lab.analysis.pcap import SYN
from lab.analysis.tcp import Connection

_MOD = 1 << 32


@dataclass(frozen=True)
class Chunk:
    """Stream bytes [start, end) that became contiguous with packet `index`."""

    start: int
    end: int
    index: int
    ts_ns: int


@dataclass
class ByteStream:
    data: bytes = field(repr=False)
    chunks: list[Chunk]
    # False when a hole was never filled or a payload was cut by the snaplen:
    # data then stops at the first missing byte.
    complete: bool

    def chunk_at(self, offset: int) -> Chunk:
        """The chunk holding stream byte `offset`."""
        i = bisect.bisect_right(self.chunks, offset, key=lambda c: c.start) - 1
        if i < 0 or offset >= self.chunks[i].end:
            raise IndexError(offset)
        return self.chunks[i]


def reassemble(conn: Connection, from_client: bool) -> ByteStream:
    """The bytes one side sent, in sequence order, with arrival packets."""
    base: int | None = None
    out = bytearray()
    chunks: list[Chunk] = []
    pending: list[tuple[int, int, bytes]] = []  # (offset, order, bytes) beyond a hole
    complete = True
    order = 0
    for pkt, side in zip(conn.packets, conn.from_client):
        if side != from_client:
            continue
        if base is None and pkt.flags & SYN:
            base = (pkt.seq + 1) % _MOD
            continue
        if not pkt.payload_len:
            continue
        if len(pkt.payload) < pkt.payload_len:
            complete = False  # snaplen cut: the missing bytes never reach us
        if base is None:
            base = pkt.seq  # capture began mid-connection
        off = (pkt.seq - base) % _MOD
        if off >= 0x80000000:
            continue  # before the stream start: an old retransmission
        heapq.heappush(pending, (off, order, pkt.payload))
        order += 1
        start = len(out)
        while pending and pending[0][0] <= len(out):
            seg_off, _, data = heapq.heappop(pending)
            tail = data[len(out) - seg_off:]
            if tail:
                out += tail
        if len(out) > start:
            chunks.append(Chunk(start, len(out), pkt.index, pkt.ts_ns))
    if pending:
        complete = False
    return ByteStream(bytes(out), chunks, complete)
