"""TCP figures per scenario connection, computed from the captures.

Connections are matched to client runs by address and port, in the order
they started: clients run one after another, so the n-th connection from a
host to a server port is the n-th outcome recorded for that pair.

Each side's own behaviour is counted where that side captured it: the
client's retransmissions and duplicate ACKs in the client's capture, the
server's in the server's. A server segment lost before it reached the
client is retransmitted by the server, and only the server's capture shows
the same bytes leaving twice.
"""
from __future__ import annotations

from collections import defaultdict

from lab.analysis.summary import analyze_file


class _Captures:
    """Connection reports per host, analysed once, matched in start order."""

    def __init__(self, capture_stats):
        self.paths = defaultdict(list)
        for c in capture_stats:
            self.paths[c.host].append(c.path)
        self.queues: dict[tuple, list] = {}

    def next(self, host: str, client: str, server: str, port: int):
        key = (host, client, server, port)
        if key not in self.queues:
            reports = sorted((r for p in self.paths.get(host, ()) for r in analyze_file(p)),
                             key=lambda r: r.tcp.first_ts_ns)
            for r in reports:
                s = r.summary
                self.queues.setdefault((host, s.client, s.server, s.server_port), []).append(r)
            self.queues.setdefault(key, [])
        queue = self.queues[key]
        return queue.pop(0) if queue else None


def attach(connections: list[dict], capture_stats) -> None:
    """Add a `tcp` dict to every connection entry that the captures show."""
    captures = _Captures(capture_stats)
    for entry in connections:
        pair = (entry["client_address"], entry["server_address"], entry["port"])
        at_client = captures.next(entry["client_host"], *pair)
        if at_client is None:
            continue
        at_server = captures.next(entry["server_host"], *pair)
        entry["tcp"] = figures(at_client, at_server)


def _by_side(report, from_client: bool) -> tuple[int, int]:
    rtx = sum(1 for r in report.tcp.retransmissions if r.from_client == from_client)
    dup = sum(1 for s in report.tcp.segments
              if s.from_client == from_client and "duplicate_ack" in s.events)
    return rtx, dup


def figures(at_client, at_server=None) -> dict:
    s, t = at_client.summary, at_client.tcp
    client_rtx, client_dup = _by_side(at_client, True)
    server_rtx, server_dup = _by_side(at_server, False) if at_server else (0, 0)
    hs = s.syn_to_handshake_complete_ms
    return {
        "client_port": s.client_port,
        "client_isn": t.client_isn, "server_isn": t.server_isn,
        "client_mss": t.client_mss, "server_mss": t.server_mss,
        "packets": t.packets,
        "retransmissions": client_rtx + server_rtx,
        "client_retransmissions": client_rtx, "server_retransmissions": server_rtx,
        "duplicate_acks": client_dup + server_dup,
        # What tshark's tcp.analysis flags count in each capture, for comparison.
        "client_capture": _counts(at_client), "server_capture": _counts(at_server),
        "tcp_handshake_rtt": s.tcp_handshake_rtt_ms / 1000 if s.tcp_handshake_rtt_ms else None,
        "handshake_time": hs / 1000 if hs is not None else None,
        "round_trips": s.round_trips_before_app_data,
        "time_to_first_app_byte": s.time_to_first_app_byte_ms / 1000
        if s.time_to_first_app_byte_ms is not None else None,
        "tls_version_on_wire": s.tls_version, "cipher_on_wire": s.cipher_suite,
        "sni_on_wire": s.sni, "alerts_on_wire": list(s.alerts),
        "closed_by": t.closed_by,
    }


def _counts(report) -> dict | None:
    if report is None:
        return None
    c = report.tcp.counts
    return {"retransmissions": c.retransmissions, "rto": c.rto_retransmissions,
            "fast": c.fast_retransmissions, "spurious": c.spurious_retransmissions,
            "duplicate_acks": c.duplicate_acks, "out_of_order": c.out_of_order}
