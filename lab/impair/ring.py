"""A PACKET_MMAP (TPACKET_V2) receive ring: frames and kernel timestamps without a
syscall per frame.

Why: a relay that sleeps on an idle link wakes 0.3-3 ms after a frame
arrives on a VM; the ring's per-frame kernel receive time lets the delay
count from the real arrival. It also flags what plain recv() would hide:
truncated frames (GSO, offloads on) and partial checksums.
"""
from __future__ import annotations

import mmap
import socket
import struct

SOL_PACKET = 263
PACKET_RX_RING, PACKET_VERSION, TPACKET_V2 = 5, 10, 1
TP_STATUS_USER, TP_STATUS_COPY, TP_STATUS_LOSING, TP_STATUS_CSUMNOTREADY = 1, 2, 4, 8
SLOT_OVERHEAD = 128  # tpacket2_hdr + sockaddr_ll + alignment, before the frame
BLOCK_SIZE = 1 << 20
# tp_status, tp_len, tp_snaplen, tp_mac, tp_net, tp_sec, tp_nsec
_HDR = struct.Struct("IIIHHII")
# sockaddr_ll follows the 32-byte tpacket2_hdr; sll_pkttype is its 11th byte.
_PKTTYPE = 32 + 10
PACKET_OUTGOING = 4
_ZERO = b"\0\0\0\0"


def slot_size(mtu: int) -> int:
    """Smallest power of two (>= 2048) holding a slot header and an MTU-sized
    frame with Ethernet and two VLAN headers."""
    size = 2048
    while size < SLOT_OVERHEAD + mtu + 22:
        size *= 2
    return size


class RxRing:
    def __init__(self, sock: socket.socket, mtu: int = 1500, frames: int = 8192):
        self.slot = slot_size(mtu)
        block = max(BLOCK_SIZE, self.slot)
        per_block = block // self.slot
        blocks = max(1, frames // per_block)
        self.frames = blocks * per_block
        sock.setsockopt(SOL_PACKET, PACKET_VERSION, TPACKET_V2)
        sock.setsockopt(SOL_PACKET, PACKET_RX_RING,
                        struct.pack("IIII", block, blocks, self.slot, self.frames))
        self.map = mmap.mmap(sock.fileno(), block * blocks,
                             mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        self.index = 0
        self.truncated = 0       # frames longer than the MTU (GSO/GRO on)
        self.partial_checksum = 0  # sender left the checksum to offload (tx offload on)

    def read(self, limit: int) -> list[tuple[bytes, int]]:
        """Up to `limit` (frame, kernel receive time in CLOCK_REALTIME ns) pairs."""
        out = []
        mm, unpack, size, frames = self.map, _HDR.unpack_from, self.slot, self.frames
        index = self.index
        for _ in range(limit):
            off = index * size
            status, length, snaplen, mac, _net, sec, nsec = unpack(mm, off)
            if not status & TP_STATUS_USER:
                break
            if mm[off + _PKTTYPE] == PACKET_OUTGOING:
                pass  # our own send (if PACKET_IGNORE_OUTGOING is unavailable)
            elif snaplen < length or status & TP_STATUS_COPY:
                self.truncated += 1  # re-sending a cut frame would be a lie: drop it
            else:
                if status & TP_STATUS_CSUMNOTREADY:
                    self.partial_checksum += 1
                out.append((mm[off + mac:off + mac + snaplen], sec * 1_000_000_000 + nsec))
            mm[off:off + 4] = _ZERO  # hand the slot back to the kernel
            index += 1
            if index == frames:
                index = 0
        self.index = index
        return out

    def close(self) -> None:
        self.map.close()
