"""A connection's ladder (sequence) diagram as inline SVG.

Hosts are columns, ordered along the path (by when each first saw the SYN);
each distinct segment is one arrow, a <g class="pkt">, from its sender
towards its receiver. A segment that a host downstream never captured ends
in a cross where it was lost; retransmissions are red and dashed. Rows are
evenly spaced, not to time scale: a handshake takes microseconds and a
retransmission timeout a second, and both must stay readable.
"""
from __future__ import annotations

from html import escape

from lab.inspect.compare import Comparison, CompareRow

ROW, TOP, LEFT, COLUMN, RIGHT, SLOPE = 26, 56, 150, 480, 200, 10
MAX_ROWS = 3000  # beyond this an SVG stops being readable, or loadable


def host_columns(cmp: Comparison, client_host: str | None = None,
                 server_host: str | None = None) -> list[tuple[str, list[int]]]:
    """(host, indices of its vantages) in path order, client first."""
    hosts: dict[str, list[int]] = {}
    for n, vantage in enumerate(cmp.vantages):
        hosts.setdefault(vantage.split(":")[0], []).append(n)
    first = next((r for r in cmp.rows if r.from_client), cmp.rows[0] if cmp.rows else None)

    def when(item) -> tuple:
        host, idx = item
        pinned = -1 if host == client_host else (1 if host == server_host else 0)
        times = [first.seen[i].rel_ms for i in idx if first and first.seen[i]]
        return (pinned, min(times) if times else float("inf"))

    return sorted(hosts.items(), key=when)


def _host_sighting(row: CompareRow, idx: list[int]):
    seen = [row.seen[i] for i in idx if row.seen[i] is not None]
    return min(seen, key=lambda s: s.rel_ms) if seen else None


def _style(row: CompareRow) -> tuple[str, str]:
    """(stroke colour, dash pattern) of an arrow."""
    if any("retransmission" in e for e in row.events):
        return "#c62828", "6 4"
    if any(e in ("dup ACK", "out-of-order") for e in row.events):
        return "#ef6c00", ""
    if "SYN" in row.flags or "FIN" in row.flags or "RST" in row.flags:
        return "#37474f", ""
    if row.payload_len == 0:
        return "#9e9e9e", ""
    return ("#1565c0" if row.from_client else "#6a1b9a"), ""


def ladder_svg(cmp: Comparison, client_host: str | None = None,
               server_host: str | None = None) -> str:
    columns = host_columns(cmp, client_host, server_host)
    if len(columns) == 1:  # only one end captured it: draw the other end anyway
        columns.append(("(peer, not captured)", []))
    rows = cmp.rows[:MAX_ROWS]
    xs = [LEFT + n * COLUMN for n in range(len(columns))]
    width = LEFT + COLUMN * max(len(columns) - 1, 1) + RIGHT
    height = TOP + ROW * len(rows) + 30
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="ladder" width="{width}" '
           f'height="{height}" viewBox="0 0 {width} {height}" font-family="monospace" '
           f'font-size="11">',
           '<defs><marker id="head" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
           'markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" '
           'fill="context-stroke"/></marker></defs>']
    for (host, _), x in zip(columns, xs):
        out.append(f'<text x="{x}" y="20" text-anchor="middle" font-weight="bold" '
                   f'font-size="13">{escape(host)}</text>')
        out.append(f'<line x1="{x}" y1="30" x2="{x}" y2="{height - 10}" stroke="#bbb" '
                   'stroke-width="2"/>')
    out.append(f'<text x="8" y="44" fill="#555">ms at sender</text>')
    for i, row in enumerate(rows):
        out.append(_arrow(row, i, columns, xs))
    out.append("</svg>")
    return "\n".join(out)


def _arrow(row: CompareRow, i: int, columns, xs: list[int]) -> str:
    order = list(range(len(columns))) if row.from_client else list(range(len(columns)))[::-1]
    seen = [_host_sighting(row, columns[c][1]) for c in order]
    y = TOP + ROW * i
    colour, dash = _style(row)
    start = xs[order[0]]
    last = max((k for k, s in enumerate(seen) if s is not None), default=0)
    # Lost: a host further along captured the connection but not this segment.
    lost = any(columns[order[k]][1] for k in range(last + 1, len(order)))
    if lost:  # stop halfway to the first host that never saw it
        end = (xs[order[last]] + xs[order[last + 1]]) / 2
    else:
        end = xs[order[-1]]
    sent_at = next((s for s in seen if s is not None), None)
    y2 = y + SLOPE
    dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
    label = row.label or row.flags
    title = (f"{row.flags} seq {row.rel_seq} ack {row.rel_ack} len {row.payload_len}"
             + (f" [{', '.join(row.events)}]" if row.events else "")
             + (f"; {row.label}" if row.label else "")
             + ("; never reached " + columns[order[last + 1]][0] if lost else ""))
    mid = (start + end) / 2
    direction = "c2s" if row.from_client else "s2c"
    lost_attr = ' data-lost="1"' if lost else ""
    head = "" if lost else ' marker-end="url(#head)"'
    parts = [f'<g class="pkt" data-dir="{direction}"{lost_attr}><title>{escape(title)}</title>',
             f'<line x1="{start}" y1="{y}" x2="{end}" y2="{y2}" stroke="{colour}" '
             f'stroke-width="1.6"{dash_attr}{head}/>',
             f'<text x="{mid}" y="{y - 3}" text-anchor="middle" fill="{colour}">'
             f'{escape(label[:70])}</text>',
             f'<text x="8" y="{y + 4}" fill="#555">'
             f'{"" if sent_at is None else f"{sent_at.rel_ms:.3f}"}</text>',
             f'<text x="{xs[-1] + 18 if len(xs) > 1 else LEFT + COLUMN + 18}" y="{y + 4}" '
             f'fill="#777">{escape(row.flags)} {row.rel_seq}:{row.payload_len}</text>']
    if lost:
        parts.append(f'<path d="M{end - 5},{y2 - 5}L{end + 5},{y2 + 5}M{end - 5},{y2 + 5}'
                     f'L{end + 5},{y2 - 5}" stroke="#c62828" stroke-width="2.5"/>')
    parts.append("</g>")
    return "".join(parts)
