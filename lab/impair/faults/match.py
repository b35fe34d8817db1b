"""Which packets a scripted fault applies to: a pure predicate over parsed frames.

    match: {tcp: syn, dport: 443}          # all keys must hold
    match: {handshake: [server_hello, certificate]}   # a list: any of them
    match: {nth: 3, proto: tcp}            # the 3rd TCP packet this direction
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any, Mapping

from lab.errors import InputError, Location
from lab.impair import frames
from lab.impair.units import parse_count

TCP_FLAGS = {  # name -> (mask, value) over the TCP flags byte
    "syn": (frames.SYN | frames.ACK, frames.SYN),
    "syn-ack": (frames.SYN | frames.ACK, frames.SYN | frames.ACK),
    "fin": (frames.FIN, frames.FIN),
    "rst": (frames.RST, frames.RST),
    "ack": (frames.ACK, frames.ACK),
    "psh": (frames.PSH, frames.PSH),
}
PROTOCOLS = {"tcp": frames.TCP, "udp": frames.UDP, "icmp": frames.ICMP, "icmpv6": frames.ICMPV6}
_RECORDS = {name: num for num, name in frames.TLS_RECORD_TYPES.items()}
_HANDSHAKES = {name: num for num, name in frames.TLS_HANDSHAKE_TYPES.items()}
KEYS = ("nth", "tcp", "tls", "handshake", "proto", "src", "dst", "sport", "dport", "port")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Match:
    nth: int | None = None
    tcp: tuple[str, ...] = ()
    tls: frozenset[int] = frozenset()
    handshake: frozenset[int] = frozenset()
    proto: int | None = None
    src: Network | None = None
    dst: Network | None = None
    sport: int | None = None
    dport: int | None = None
    port: int | None = None

    def test(self, pkt: frames.Packet) -> bool:
        """Do the filters (not `nth`, which the caller counts) accept this packet?"""
        if self.proto is not None and pkt.proto != self.proto:
            return False
        if self.tcp:
            if pkt.proto != frames.TCP or not pkt.payload:
                return False
            if not any(pkt.flags & mask == value for mask, value in map(TCP_FLAGS.get, self.tcp)):
                return False
        if self.tls and self.tls.isdisjoint(pkt.tls_records):
            return False
        if self.handshake and self.handshake.isdisjoint(pkt.tls_handshakes):
            return False
        if self.src is not None and ipaddress.ip_address(pkt.src) not in self.src:
            return False
        if self.dst is not None and ipaddress.ip_address(pkt.dst) not in self.dst:
            return False
        ports = pkt.payload and pkt.proto in (frames.TCP, frames.UDP)
        if self.sport is not None and not (ports and pkt.sport == self.sport):
            return False
        if self.dport is not None and not (ports and pkt.dport == self.dport):
            return False
        if self.port is not None and not (ports and self.port in (pkt.sport, pkt.dport)):
            return False
        return True


def _names(value: Any, table: Mapping[str, Any], what: str, where: Location | None) -> list:
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    if not items:
        raise InputError(f"{what}: give at least one of {', '.join(table)}", where)
    out = []
    for item in items:
        if not isinstance(item, str) or item not in table:
            raise InputError(f"{what}: unknown {item!r}; known: {', '.join(table)}", where)
        out.append(table[item])
    return out


def _network(value: Any, what: str, where: Location | None) -> Network:
    try:
        return ipaddress.ip_network(str(value), strict=False)
    except ValueError:
        raise InputError(f"{what}: {value!r} is not an IP address or prefix "
                         "(e.g. 10.0.0.1 or 10.0.0.0/24)", where) from None


def _port(value: Any, what: str, where: Location | None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536:
        raise InputError(f"{what}: {value!r} is not a port number (1..65535)", where)
    return value


def parse_match(spec: Any, what: str, where: Location | None = None) -> Match:
    if spec is None:
        return Match()
    if not isinstance(spec, Mapping):
        raise InputError(f"{what}: must be a mapping of {', '.join(KEYS)}, not {spec!r}", where)
    unknown = [k for k in spec if k not in KEYS]
    if unknown:
        raise InputError(f"{what}: unknown key {unknown[0]!r}; known: {', '.join(KEYS)}", where)
    args: dict[str, Any] = {}
    for key, value in spec.items():
        label = f"{what}.{key}"
        if key == "nth":
            args[key] = parse_count(value, label, where)
        elif key == "tcp":
            args[key] = tuple(_names(value, {n: n for n in TCP_FLAGS}, label, where))
        elif key == "tls":
            args[key] = frozenset(_names(value, _RECORDS, label, where))
        elif key == "handshake":
            args[key] = frozenset(_names(value, _HANDSHAKES, label, where))
        elif key == "proto":
            if not isinstance(value, str) or value not in PROTOCOLS:
                raise InputError(f"{label}: {value!r} is not one of {', '.join(PROTOCOLS)}", where)
            args[key] = PROTOCOLS[value]
        elif key in ("src", "dst"):
            args[key] = _network(value, label, where)
        else:
            args[key] = _port(value, label, where)
    return Match(**args)

