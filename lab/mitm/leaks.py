"""What an eavesdropper learns from captured packets: pure functions over
lab.analysis Packets, no keys.

Per TLS connection: the SNI, the negotiated version and suite, the server's
certificate (subject, issuer, SANs) where it crosses in the clear (TLS 1.2
and below; TLS 1.3 encrypts it), plaintext alerts, and the size and timing of
every record. Separately: TCP streams that were not TLS at all, and where any
searched-for plaintext appeared.
"""
from __future__ import annotations

from lab.analysis.pcap import Packet
from lab.analysis.stream import reassemble
from lab.analysis.tcp import Connection, split_connections
from lab.analysis.tls import TlsSession, analyze_tls

MAX_RECORDS = 200  # per connection in a report; the capture keeps the rest


def what_leaks(packets: list[Packet], search: tuple[bytes, ...] = ()) -> dict:
    tls, plain, hits = [], [], []
    for conn in split_connections(packets):
        streams = {side: reassemble(conn, side) for side in (True, False)}
        for needle in search:
            for side, stream in streams.items():
                if needle and needle in stream.data:
                    hits.append({**_ends(conn), "from": "client" if side else "server",
                                 "text": needle.decode(errors="replace")})
        session = analyze_tls(conn) if streams[True].data else None
        if session is not None:
            tls.append(connection_leaks(conn, session))
        elif any(s.data for s in streams.values()):
            plain.append({**_ends(conn), "bytes": {"client": len(streams[True].data),
                                                   "server": len(streams[False].data)}})
    return {"tls": tls, "plaintext_streams": plain, "search_hits": hits,
            "plaintext_seen": bool(plain or hits)}


def connection_leaks(conn: Connection, s: TlsSession) -> dict:
    t0 = conn.packets[0].ts_ns
    ms = lambda ts: round((ts - t0) / 1e6, 3)  # noqa: E731
    return {
        **_ends(conn),
        "sni": s.sni,
        "alpn": s.alpn,
        "version": s.version,
        "cipher_suite": s.cipher_suite,
        "key_exchange": s.key_exchange,
        "handshake_encrypted": s.tls13,
        "certificate_visible": bool(s.certificates),
        "certificates": [{"subject": c.subject, "issuer": c.issuer, "sans": list(c.sans),
                          "sha256": c.sha256, "not_after": c.not_after} for c in s.certificates],
        "alerts": [f"{a.level} {a.description}" for a in s.alerts],
        "app_data_sizes": {"client": list(s.client_app_data_sizes),
                           "server": list(s.server_app_data_sizes)},
        "records": [{"from": "client" if r.from_client else "server", "type": r.content_type,
                     "length": r.length, "t_ms": ms(r.ts_ns)} for r in s.records[:MAX_RECORDS]],
        "timing": {"handshake_ms": ms(s.handshake_complete_ts_ns)
                   if s.handshake_complete_ts_ns is not None else None,
                   "duration_ms": ms(conn.packets[-1].ts_ns)},
    }


def _ends(conn: Connection) -> dict:
    return {"client": f"{conn.client}:{conn.client_port}",
            "server": f"{conn.server}:{conn.server_port}"}
