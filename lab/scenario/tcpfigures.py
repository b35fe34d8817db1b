"""TCP figures per scenario connection, computed from the client's capture.

Connections are matched to client runs by address and port, in the order
they started: clients run one after another, so the n-th connection from a
host to a server port is the n-th outcome recorded for that pair.
"""
from __future__ import annotations

from collections import defaultdict

from lab.analysis.summary import analyze_file


def attach(connections: list[dict], capture_stats) -> None:
    """Add a `tcp` dict to every connection entry that the capture shows."""
    by_host = defaultdict(list)
    for c in capture_stats:
        by_host[c.host].append(c.path)
    seen: dict[str, list] = {}
    queues: dict[tuple, list] = defaultdict(list)
    for entry in connections:
        host = entry["client_host"]
        if host not in seen:
            seen[host] = sorted((r for path in by_host.get(host, ()) for r in analyze_file(path)),
                                key=lambda r: r.tcp.first_ts_ns)
            for report in seen[host]:
                s = report.summary
                queues[(host, s.client, s.server, s.server_port)].append(report)
        key = (host, entry["client_address"], entry["server_address"], entry["port"])
        if queues[key]:
            entry["tcp"] = figures(queues[key].pop(0))


def figures(report) -> dict:
    s, t = report.summary, report.tcp
    hs = s.syn_to_handshake_complete_ms
    return {
        "client_port": s.client_port,
        "client_isn": t.client_isn, "server_isn": t.server_isn,
        "client_mss": t.client_mss, "server_mss": t.server_mss,
        "packets": t.packets,
        "retransmissions": s.counts.retransmissions,
        "rto_retransmissions": s.counts.rto_retransmissions,
        "fast_retransmissions": s.counts.fast_retransmissions,
        "spurious_retransmissions": s.counts.spurious_retransmissions,
        "duplicate_acks": s.counts.duplicate_acks,
        "out_of_order": s.counts.out_of_order,
        "tcp_handshake_rtt": s.tcp_handshake_rtt_ms / 1000 if s.tcp_handshake_rtt_ms else None,
        "handshake_time": hs / 1000 if hs is not None else None,
        "round_trips": s.round_trips_before_app_data,
        "time_to_first_app_byte": s.time_to_first_app_byte_ms / 1000
        if s.time_to_first_app_byte_ms is not None else None,
        "tls_version_on_wire": s.tls_version, "cipher_on_wire": s.cipher_suite,
        "sni_on_wire": s.sni, "alerts_on_wire": list(s.alerts),
        "closed_by": t.closed_by,
    }
