"""Read pcap/pcapng captures into lightweight TCP packet records.

Only TCP over IPv4/IPv6 is kept. Headers are decoded with struct on top of
scapy's RawPcapReader: full scapy dissection costs ~100x more per packet and
the analysis needs only a handful of header fields.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from ipaddress import IPv6Address
from typing import Iterator

from lab.errors import InputError

FIN, SYN, RST, PSH, ACK, URG, ECE, CWR = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80
_FLAG_NAMES = ((SYN, "SYN"), (FIN, "FIN"), (RST, "RST"), (PSH, "PSH"), (ACK, "ACK"),
               (URG, "URG"), (ECE, "ECE"), (CWR, "CWR"))

# Link-layer types (tcpdump.org/linktypes.html) we can strip to an IP header.
_LINKTYPE_NULL, _LINKTYPE_ETHERNET, _LINKTYPE_RAW = 0, 1, 101
_LINKTYPE_SLL, _LINKTYPE_IPV4, _LINKTYPE_IPV6, _LINKTYPE_SLL2 = 113, 228, 229, 276
_ETH_IPV4, _ETH_IPV6, _ETH_VLANS = 0x0800, 0x86DD, (0x8100, 0x88A8, 0x9100)

_u16 = struct.Struct("!H").unpack_from
_ipv4 = struct.Struct("!BBHHHBBH4s4s").unpack_from
_tcp = struct.Struct("!HHIIBBHHH").unpack_from


def flag_names(flags: int) -> str:
    """'SYN,ACK'-style text for a TCP flags byte."""
    return ",".join(name for bit, name in _FLAG_NAMES if flags & bit)


@dataclass(frozen=True, slots=True)
class TcpOptions:
    mss: int | None = None
    wscale: int | None = None
    sack_permitted: bool = False
    sack_blocks: tuple[tuple[int, int], ...] = ()
    ts_val: int | None = None
    ts_ecr: int | None = None


_NO_OPTIONS = TcpOptions()


@dataclass(frozen=True, slots=True)
class Packet:
    """One captured TCP segment.

    index is the 1-based frame number, as Wireshark numbers frames, counting
    non-TCP frames too so the two can be compared. window is the raw header
    field, unscaled. payload_len comes from the IP length, so it stays right
    when a short snaplen truncated payload (then len(payload) < payload_len).
    """

    index: int
    ts_ns: int
    src: str
    dst: str
    sport: int
    dport: int
    flags: int
    seq: int
    ack: int
    window: int
    payload_len: int
    options: TcpOptions = _NO_OPTIONS
    payload: bytes = field(default=b"", repr=False)

    @property
    def ts(self) -> float:
        return self.ts_ns / 1e9

    @property
    def flag_text(self) -> str:
        return flag_names(self.flags)


def _parse_options(raw: bytes) -> TcpOptions:
    mss = wscale = ts_val = ts_ecr = None
    sack_ok = False
    sacks: list[tuple[int, int]] = []
    i, n = 0, len(raw)
    while i < n:
        kind = raw[i]
        if kind == 0:
            break
        if kind == 1:
            i += 1
            continue
        if i + 1 >= n:
            break
        length = raw[i + 1]
        if length < 2 or i + length > n:
            break  # malformed: stop rather than misread the rest
        if kind == 2 and length == 4:
            mss = _u16(raw, i + 2)[0]
        elif kind == 3 and length == 3:
            wscale = raw[i + 2]
        elif kind == 4:
            sack_ok = True
        elif kind == 5:
            sacks.extend(struct.unpack_from("!II", raw, j)
                         for j in range(i + 2, i + length - 7, 8))
        elif kind == 8 and length == 10:
            ts_val, ts_ecr = struct.unpack_from("!II", raw, i + 2)
        i += length
    return TcpOptions(mss, wscale, sack_ok, tuple(sacks), ts_val, ts_ecr)


def _ip_offset(linktype: int, frame: bytes) -> int | None:
    """Offset of the IP header in a frame, or None for non-IP frames."""
    if linktype == _LINKTYPE_ETHERNET:
        off, ethertype = 14, _u16(frame, 12)[0]
        while ethertype in _ETH_VLANS and len(frame) >= off + 4:
            ethertype, off = _u16(frame, off + 2)[0], off + 4
        return off if ethertype in (_ETH_IPV4, _ETH_IPV6) else None
    if linktype == _LINKTYPE_SLL:
        return 16 if _u16(frame, 14)[0] in (_ETH_IPV4, _ETH_IPV6) else None
    if linktype == _LINKTYPE_SLL2:
        return 20 if _u16(frame, 0)[0] in (_ETH_IPV4, _ETH_IPV6) else None
    if linktype in (_LINKTYPE_RAW, _LINKTYPE_IPV4, _LINKTYPE_IPV6, 12, 14):
        return 0
    if linktype == _LINKTYPE_NULL:
        return 4  # address family in host byte order; the IP version nibble decides
    return None


def parse_frame(index: int, ts_ns: int, linktype: int, frame: bytes,
                keep_payload: bool = True) -> Packet | None:
    """Decode one link-layer frame; None unless it is an unfragmented TCP segment."""
    try:
        off = _ip_offset(linktype, frame)
        if off is None or len(frame) < off + 20:
            return None
        version = frame[off] >> 4
        if version == 4:
            vihl, _, total, _, frag, _, proto, _, s, d = _ipv4(frame, off)
            # Later fragments carry no TCP header; reassembly is out of scope.
            if proto != 6 or frag & 0x1FFF:
                return None
            ihl = (vihl & 0x0F) * 4
            src, dst = ".".join(map(str, s)), ".".join(map(str, d))
            tcp_off, ip_end = off + ihl, off + total
        elif version == 6:
            plen, proto = _u16(frame, off + 4)[0], frame[off + 6]
            if proto != 6:  # extension headers before TCP are not followed
                return None
            src = str(IPv6Address(frame[off + 8:off + 24]))
            dst = str(IPv6Address(frame[off + 24:off + 40]))
            tcp_off, ip_end = off + 40, off + 40 + plen
        else:
            return None
        sport, dport, seq, ack, data_off, flags, window, _, _ = _tcp(frame, tcp_off)
    except struct.error:
        return None  # truncated below the TCP fixed header
    hdr_len = (data_off >> 4) * 4
    options = _parse_options(frame[tcp_off + 20:tcp_off + hdr_len]) if hdr_len > 20 else _NO_OPTIONS
    start = tcp_off + hdr_len
    payload_len = max(0, ip_end - start)
    # Ethernet pads short frames: trust the IP length, not the frame length.
    payload = frame[start:min(ip_end, len(frame))] if keep_payload and payload_len else b""
    return Packet(index, ts_ns, src, dst, sport, dport, flags, seq, ack, window,
                  payload_len, options, payload)


def _frames(path: str) -> Iterator[tuple[int, int, bytes]]:
    """(linktype, ts_ns, frame) for each frame of a pcap or pcapng file."""
    from scapy.error import Scapy_Exception
    from scapy.utils import RawPcapNgReader, RawPcapReader

    try:
        reader = RawPcapReader(path)
    except (OSError, Scapy_Exception) as exc:
        raise InputError(f"cannot read capture {path}: {exc}") from exc
    with reader:
        if isinstance(reader, RawPcapNgReader):
            for frame, meta in reader:
                ticks, res = (meta.tshigh << 32) | meta.tslow, meta.tsresol
                ts_ns = ticks * (1_000_000_000 // res) if 1_000_000_000 % res == 0 \
                    else ticks * 1_000_000_000 // res
                yield meta.linktype, ts_ns, frame
        else:
            scale = 1 if reader.nano else 1000
            linktype = reader.linktype
            for frame, meta in reader:
                yield linktype, meta.sec * 1_000_000_000 + meta.usec * scale, frame


def iter_packets(path: str, keep_payload: bool = True) -> Iterator[Packet]:
    for index, (linktype, ts_ns, frame) in enumerate(_frames(path), start=1):
        pkt = parse_frame(index, ts_ns, linktype, frame, keep_payload)
        if pkt is not None:
            yield pkt


def read_pcap(path: str, keep_payload: bool = True) -> list[Packet]:
    """All TCP segments of a capture, in capture order.

    keep_payload=False skips copying payload bytes, for TCP-only analysis of
    big captures.
    """
    return list(iter_packets(path, keep_payload))
