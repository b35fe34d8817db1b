"""One line of numbers per connection: handshake cost and TCP trouble.

Round trips before the first application byte count the times the client
sends again after hearing from the server: among packets that carry a SYN,
FIN or payload (pure ACKs never gate progress, retransmissions repeat an
earlier turn), each client packet that follows a server packet is one
client -> server -> client turnaround. Counting runs from the SYN up to and
including the packet carrying the client's first application-data byte:
TCP + TLS 1.2 gives 3, TCP + TLS 1.3 gives 2, a HelloRetryRequest adds 1.

"First application byte" is the client's: the lab's protocols have the
client speak first, and in TLS 1.3 the server's post-handshake tickets are
indistinguishable from data without keys. For the same reason the "first
response byte" of a TLS 1.3 connection may be a NewSessionTicket's.
"""
from __future__ import annotations

from dataclasses import dataclass

from lab.analysis.pcap import FIN, SYN, Packet, read_pcap
from lab.analysis.tcp import Connection, TcpAnalysis, TcpCounts, analyze_tcp, split_connections
from lab.analysis.tls import TlsSession, analyze_tls


@dataclass(frozen=True)
class ConnectionSummary:
    stream: int
    client: str
    client_port: int
    server: str
    server_port: int
    tls_version: str | None
    cipher_suite: str | None
    sni: str | None
    alerts: tuple[str, ...]
    tcp_handshake_rtt_ms: float | None
    syn_to_handshake_complete_ms: float | None
    round_trips_before_app_data: int | None
    time_to_first_app_byte_ms: float | None
    time_to_first_response_byte_ms: float | None
    counts: TcpCounts


@dataclass(frozen=True)
class ConnectionReport:
    """Everything the analysis knows about one connection."""

    summary: ConnectionSummary
    tcp: TcpAnalysis
    tls: TlsSession | None


def summarize(conn: Connection, tcp: TcpAnalysis | None = None,
              tls: TlsSession | None = None) -> ConnectionSummary:
    tcp = tcp or analyze_tcp(conn)
    if tls is None:
        tls = analyze_tls(conn)
    start = tcp.handshake.syn_ts_ns
    if start is None and conn.packets:
        start = conn.packets[0].ts_ns

    def since(ts: int | None) -> float | None:
        return None if ts is None or start is None else (ts - start) / 1e6

    first_data = first_response = None
    if tls is not None:
        data = [m for m in tls.messages if m.kind == "ApplicationData"]
        first_data = next((m for m in data if m.from_client), None)
        if first_data is not None:
            first_response = next((m for m in data if not m.from_client
                                   and m.first_index > first_data.first_index), None)
    turns = None
    if first_data is not None and tcp.handshake.syn_index is not None:
        resent = {r.index for r in tcp.retransmissions}
        turns = _turnarounds(conn, resent, first_data.first_index)
    return ConnectionSummary(
        stream=conn.stream, client=conn.client, client_port=conn.client_port,
        server=conn.server, server_port=conn.server_port,
        tls_version=tls.version if tls else None,
        cipher_suite=tls.cipher_suite if tls else None, sni=tls.sni if tls else None,
        alerts=tuple(f"{a.level} {a.description}" for a in tls.alerts) if tls else (),
        tcp_handshake_rtt_ms=tcp.handshake.rtt_ns / 1e6 if tcp.handshake.rtt_ns else None,
        syn_to_handshake_complete_ms=since(tls.handshake_complete_ts_ns) if tls else None,
        round_trips_before_app_data=turns,
        time_to_first_app_byte_ms=since(first_data.first_ts_ns) if first_data else None,
        time_to_first_response_byte_ms=since(first_response.first_ts_ns)
        if first_response else None,
        counts=tcp.counts)


def _turnarounds(conn: Connection, resent: set[int], until_index: int) -> int:
    turns, last_side = 0, None
    for pkt, side in zip(conn.packets, conn.from_client):
        if pkt.index > until_index:
            break
        if pkt.index in resent or not (pkt.payload_len or pkt.flags & (SYN | FIN)):
            continue
        if side and last_side is False:
            turns += 1
        last_side = side
    return turns


def analyze_packets(packets: list[Packet]) -> list[ConnectionReport]:
    reports = []
    for conn in split_connections(packets):
        tcp, tls = analyze_tcp(conn), analyze_tls(conn)
        reports.append(ConnectionReport(summarize(conn, tcp, tls), tcp, tls))
    return reports


def analyze_file(path: str) -> list[ConnectionReport]:
    """Read a capture and analyse every TCP connection in it."""
    return analyze_packets(read_pcap(path))
