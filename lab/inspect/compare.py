"""One connection as every capturing host saw it, packet by packet.

Views of the same 4-tuple are lined up by the segment itself (direction,
sequence and acknowledgement numbers, flags, length, and which copy of an
identical segment it is), so a segment missing from a host's capture shows
where it was lost. All lab hosts share one kernel clock, so times from
different captures compare directly.
"""
from __future__ import annotations

from dataclasses import dataclass

from lab.analysis import read_pcap, split_connections
from lab.inspect.model import ConnectionView, PacketRow
from lab.inspect.target import Target, host_views
from lab.inspect.timeline import build_view


@dataclass(frozen=True)
class Sighting:
    index: int
    rel_ms: float  # since the connection's first sighting anywhere


@dataclass(frozen=True)
class CompareRow:
    from_client: bool
    flags: str
    rel_seq: int
    rel_ack: int
    payload_len: int
    label: str
    events: tuple[str, ...]
    seen: tuple[Sighting | None, ...]  # one per vantage, in Comparison.vantages order


@dataclass(frozen=True)
class Comparison:
    client: str
    client_port: int
    server: str
    server_port: int
    vantages: tuple[str, ...]
    views: tuple[ConnectionView, ...]
    rows: tuple[CompareRow, ...]


def tuple_of(v: ConnectionView) -> tuple:
    return (v.client, v.client_port, v.server, v.server_port)


def _keys(view: ConnectionView):
    """(key, row) per packet; the key names the segment, not the capture."""
    seen: dict[tuple, int] = {}
    for row in view.rows:
        base = (row.from_client, row.seq, row.ack, row.flags, row.payload_len)
        n = seen.get(base, 0)
        seen[base] = n + 1
        yield base + (n,), row


def _summary(row: PacketRow) -> str:
    parts = [row.label] if row.label else []
    parts += [t.label for t in row.tls]
    return "; ".join(parts)


def compare(views: list[ConnectionView]) -> Comparison:
    """Line up views of one connection (same 4-tuple) from different hosts."""
    t0 = min(v.first_ts_ns for v in views)
    rows: dict[tuple, dict] = {}
    order: dict[tuple, int] = {}
    for n, view in enumerate(views):
        for key, row in _keys(view):
            ts = view.first_ts_ns + int(row.rel_ms * 1e6)
            entry = rows.setdefault(key, {"row": row, "seen": [None] * len(views), "ts": ts})
            entry["seen"][n] = Sighting(row.index, (ts - t0) / 1e6)
            entry["ts"] = min(entry["ts"], ts)
            if not entry["row"].label and row.label:
                entry["row"] = row
            order.setdefault(key, len(order))
    ordered = sorted(rows.items(), key=lambda kv: (kv[1]["ts"], order[kv[0]]))
    first = views[0]
    return Comparison(
        first.client, first.client_port, first.server, first.server_port,
        tuple(v.vantage for v in views), tuple(views),
        tuple(CompareRow(e["row"].from_client, e["row"].flags, e["row"].rel_seq,
                         e["row"].rel_ack, e["row"].payload_len, _summary(e["row"]),
                         e["row"].events, tuple(e["seen"]))
              for _, e in ordered))


def compare_target(target: Target, host: str, conn: int | None = None) -> list[Comparison]:
    """For each of the host's connections, the same 4-tuple in every capture."""
    keylog, keys = target.keylog(), target.server_keys()
    groups = [[v] for v in host_views(target, host, conn)]
    # A reused port gives two connections one 4-tuple: the n-th matches the n-th.
    by_tuple: dict[tuple, list[list[ConnectionView]]] = {}
    for g in groups:
        by_tuple.setdefault(tuple_of(g[0]), []).append(g)
    for cap in target.captures:
        if cap.host == host:
            continue
        sessions: dict = {}
        local = target.addresses.get(cap.host, frozenset())
        used: dict[tuple, int] = {}
        for c in split_connections(read_pcap(cap.path)):
            key = (c.client, c.client_port, c.server, c.server_port)
            n = used.get(key, 0)
            used[key] = n + 1
            if n < len(by_tuple.get(key, ())):
                by_tuple[key][n].append(build_view(c, cap.vantage, cap.path, c.stream, keylog,
                                                   keys, sessions, local))
    return [compare(g) for g in groups]
