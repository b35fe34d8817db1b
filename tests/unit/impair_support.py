"""Shared helpers for the impairment unit tests: committed frame fixtures."""
import os

FRAMES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data", "frames")


def frame(name: str) -> bytes:
    """One Ethernet frame from tests/data/frames/<name>.hex (see make_frames.py there)."""
    with open(os.path.join(FRAMES, f"{name}.hex")) as fh:
        return bytes.fromhex(fh.read())


def l4_checksum_ok(frame: bytes) -> bool:
    """Does an Ethernet/IPv4 TCP or UDP frame's checksum verify? (Independent of
    lab.impair and of scapy's dissectors, which re-encode what they parse.)"""
    ihl = (frame[14] & 0x0F) * 4
    total = int.from_bytes(frame[16:18], "big")
    segment = frame[14 + ihl:14 + total]
    pseudo = frame[26:34] + bytes([0, frame[23]]) + len(segment).to_bytes(2, "big")
    data = pseudo + segment + (b"\0" if len(segment) % 2 else b"")
    acc = sum(int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2))
    while acc >> 16:
        acc = (acc & 0xFFFF) + (acc >> 16)
    return acc == 0xFFFF
