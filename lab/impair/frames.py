"""Raw Ethernet frame parsing for fault matching and logs: pure, struct only.

Runs per packet inside the relay, so it reads only what matching needs
(addresses, ports, TCP flags, TLS record and handshake types) and returns a
NamedTuple, which is several times cheaper to build than a dataclass.
"""
from __future__ import annotations

import ipaddress
import struct
from typing import NamedTuple

ETH_IPV4, ETH_IPV6, ETH_VLAN, ETH_QINQ = 0x0800, 0x86DD, 0x8100, 0x88A8
TCP, UDP, ICMP, ICMPV6 = 6, 17, 1, 58
PROTO_NAMES = {TCP: "tcp", UDP: "udp", ICMP: "icmp", ICMPV6: "icmpv6"}

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10
_FLAG_LETTERS = "FSRPAUEC"

TLS_RECORD_TYPES = {20: "change_cipher_spec", 21: "alert", 22: "handshake",
                    23: "application_data", 24: "heartbeat"}
TLS_HANDSHAKE_TYPES = {
    0: "hello_request", 1: "client_hello", 2: "server_hello", 3: "hello_verify_request",
    4: "new_session_ticket", 5: "end_of_early_data", 8: "encrypted_extensions",
    11: "certificate", 12: "server_key_exchange", 13: "certificate_request",
    14: "server_hello_done", 15: "certificate_verify", 16: "client_key_exchange",
    20: "finished", 21: "certificate_url", 22: "certificate_status", 24: "key_update",
    25: "compressed_certificate", 254: "message_hash",
}
_MAX_RECORD = 2**14 + 2048  # RFC 5246 6.2.3: ciphertext limit

_TCP_HDR = struct.Struct("!HHIIBB")
_PORTS = struct.Struct("!HH")


class Packet(NamedTuple):
    """One IP packet as matching sees it. Addresses are raw bytes."""

    version: int          # 4 or 6
    proto: int            # IP protocol number
    src: bytes
    dst: bytes
    sport: int = 0
    dport: int = 0
    flags: int = 0        # TCP flags byte
    seq: int = 0
    l4: int = 0           # frame offset of the IP payload (TCP/UDP/ICMP header)
    payload: int = 0      # frame offset of the L4 payload; 0: L4 header not parsed
    end: int = 0          # end of the IP packet (Ethernet padding excluded)
    tls_records: tuple[int, ...] = ()
    tls_handshakes: tuple[int, ...] = ()
    icmp_id: int = 0
    icmp_seq: int = 0


def _tls(frame: bytes, pos: int, end: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """TLS records starting at the TCP payload, and unencrypted handshake types in them."""
    records: list[int] = []
    handshakes: list[int] = []
    while pos + 5 <= end:
        ctype, major, minor = frame[pos], frame[pos + 1], frame[pos + 2]
        length = (frame[pos + 3] << 8) | frame[pos + 4]
        if ctype not in TLS_RECORD_TYPES or major != 3 or minor > 4 or not 0 < length <= _MAX_RECORD:
            break
        records.append(ctype)
        if ctype == 22:
            handshakes += _handshakes(frame, pos + 5, pos + 5 + length, end)
        pos += 5 + length
    return tuple(records), tuple(handshakes)


def _handshakes(frame: bytes, pos: int, record_end: int, end: int) -> list[int]:
    """Handshake message types in one record, or none if it is encrypted.

    A TLS 1.2 Finished after ChangeCipherSpec is encrypted inside a handshake
    record; its bytes rarely chain into known message headers that end
    exactly at the record's end, which is how it is told apart.
    """
    found: list[int] = []
    while pos < record_end:
        if pos + 4 > end:
            return found  # header in a later segment: keep what was seen
        mtype = frame[pos]
        if mtype not in TLS_HANDSHAKE_TYPES:
            return []
        found.append(mtype)
        pos += 4 + int.from_bytes(frame[pos + 1:pos + 4], "big")
        if pos > record_end:
            # Fragmented across records; only plausible if the record isn't all here.
            return found if record_end > end else []
    return found if pos == record_end else []


def parse(frame: bytes) -> Packet | None:
    """The IP packet in an Ethernet frame, or None for ARP and other non-IP frames."""
    if len(frame) < 14:
        return None
    ethertype = (frame[12] << 8) | frame[13]
    off = 14
    while ethertype in (ETH_VLAN, ETH_QINQ) and len(frame) >= off + 4:
        ethertype = (frame[off + 2] << 8) | frame[off + 3]
        off += 4
    if ethertype == ETH_IPV4:
        if len(frame) < off + 20:
            return None
        ihl = (frame[off] & 0x0F) * 4
        end = min(len(frame), off + ((frame[off + 2] << 8) | frame[off + 3]))
        proto = frame[off + 9]
        src, dst = frame[off + 12:off + 16], frame[off + 16:off + 20]
        later_fragment = ((frame[off + 6] & 0x1F) << 8) | frame[off + 7]
        l4, version = off + ihl, 4
    elif ethertype == ETH_IPV6:
        if len(frame) < off + 40:
            return None
        end = min(len(frame), off + 40 + ((frame[off + 4] << 8) | frame[off + 5]))
        proto = frame[off + 6]
        src, dst = frame[off + 8:off + 24], frame[off + 24:off + 40]
        l4, version, later_fragment = off + 40, 6, 0
        while proto in (0, 43, 44, 60) and l4 + 8 <= end:  # extension headers
            if proto == 44:
                later_fragment = ((frame[l4 + 2] << 8) | frame[l4 + 3]) >> 3
                proto, l4 = frame[l4], l4 + 8
            else:
                proto, l4 = frame[l4], l4 + (frame[l4 + 1] + 1) * 8
    else:
        return None
    if later_fragment:
        return Packet(version, proto, src, dst, l4=l4, end=end)
    if proto == TCP and l4 + 20 <= end:
        sport, dport, seq, _ack, doff, flags = _TCP_HDR.unpack_from(frame, l4)
        payload = l4 + (doff >> 4) * 4
        records, handshakes = _tls(frame, payload, end) if payload < end else ((), ())
        return Packet(version, proto, src, dst, sport, dport, flags, seq, l4, payload, end,
                      records, handshakes)
    if proto == UDP and l4 + 8 <= end:
        sport, dport = _PORTS.unpack_from(frame, l4)
        return Packet(version, proto, src, dst, sport, dport, l4=l4, payload=l4 + 8, end=end)
    if proto in (ICMP, ICMPV6) and l4 + 8 <= end:
        ident, seq = _PORTS.unpack_from(frame, l4 + 4)
        return Packet(version, proto, src, dst, l4=l4, payload=l4 + 8, end=end,
                      icmp_id=ident, icmp_seq=seq)
    return Packet(version, proto, src, dst, l4=l4, end=end)


def flags_text(flags: int) -> str:
    return "".join(letter for bit, letter in enumerate(_FLAG_LETTERS) if flags & (1 << bit))


def summary(frame: bytes) -> dict:
    """A short JSON-ready description of a frame for fault and event logs."""
    pkt = parse(frame)
    if pkt is None:
        ethertype = (frame[12] << 8) | frame[13] if len(frame) >= 14 else 0
        return {"ethertype": f"0x{ethertype:04x}", "len": len(frame)}
    src, dst = ipaddress.ip_address(pkt.src), ipaddress.ip_address(pkt.dst)
    out: dict = {"proto": PROTO_NAMES.get(pkt.proto, str(pkt.proto))}
    if pkt.proto in (TCP, UDP) and pkt.payload:
        fmt = "[{}]:{}" if pkt.version == 6 else "{}:{}"
        out["src"], out["dst"] = fmt.format(src, pkt.sport), fmt.format(dst, pkt.dport)
    else:
        out["src"], out["dst"] = str(src), str(dst)
    if pkt.proto == TCP and pkt.payload:
        out["flags"], out["seq"] = flags_text(pkt.flags), pkt.seq
    if pkt.proto in (ICMP, ICMPV6) and pkt.payload:
        out["type"], out["id"], out["seq"] = frame[pkt.l4], pkt.icmp_id, pkt.icmp_seq
    out["len"] = pkt.end - (pkt.payload or pkt.l4)
    if pkt.tls_records:
        out["tls"] = [TLS_RECORD_TYPES[t] for t in pkt.tls_records]
    if pkt.tls_handshakes:
        out["handshake"] = [TLS_HANDSHAKE_TYPES[t] for t in pkt.tls_handshakes]
    return out
