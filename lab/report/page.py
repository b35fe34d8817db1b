"""The report page: one self-contained HTML string (inline CSS and SVG, no
scripts, nothing fetched), so it opens from a copied run directory offline."""
from __future__ import annotations

from html import escape

from lab.inspect.compare import Comparison
from lab.inspect.model import ConnectionView, PacketRow
from lab.report.ladder import MAX_ROWS, ladder_svg

CSS = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 32px; } h3 { font-size: 15px; }
table { border-collapse: collapse; margin: 8px 0 16px; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } td.num { text-align: right; font-family: monospace; }
.pass { color: #2e7d32; font-weight: bold; } .fail { color: #c62828; font-weight: bold; }
.mono, .packets td { font-family: monospace; font-size: 12px; }
.c2s { color: #1565c0; } .s2c { color: #6a1b9a; } .warn { color: #c62828; }
.note { color: #8d6e00; } .ladder { border: 1px solid #ddd; background: #fff; }
details { margin: 2px 0; } summary { cursor: pointer; }
dl.fields { display: grid; grid-template-columns: max-content auto; gap: 0 12px; margin: 4px 0; }
dl.fields dt { color: #555; } dl.fields dd { margin: 0; word-break: break-all; }
"""


def _table(head: list[str], rows: list[list[str]], cls: str = "") -> str:
    """rows hold HTML already escaped by the caller."""
    h = "".join(f"<th>{escape(c)}</th>" for c in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f'<table class="{cls}"><thead><tr>{h}</tr></thead><tbody>{body}</tbody></table>'


def _e(value) -> str:
    return escape("" if value is None else str(value))


def expectations(result: dict) -> str:
    rows = [[_e(x.get("subject")), _e(x.get("name")), _e(x.get("expected")),
             _e(x.get("observed")),
             '<span class="pass">PASS</span>' if x.get("passed") else
             '<span class="fail">FAIL</span>'] for x in result.get("expectations", [])]
    if not rows:
        return "<p>No expectations recorded.</p>"
    return _table(["subject", "expectation", "expected", "observed", "result"], rows)


def link_figures(result: dict) -> str:
    out = []
    links = [[_e(l.get("link")), _e(l.get("engine")),
              _e(", ".join(f"{k}: {v}" for k, v in (l.get("impairments") or {}).items()) or "-"),
              _e(", ".join(map(str, l.get("faults") or ())) or "-")]
             for l in result.get("links", [])]
    if links:
        out.append("<h3>Links</h3>" + _table(["link", "engine", "impairments", "faults"], links))
    paths = [[_e(p.get("from")), _e(p.get("to")), _e(p.get("address")), _e(p.get("reached")),
              f'<span class="mono">{_e(p.get("rtt_min_ms"))}</span>']
             for p in result.get("paths", [])]
    if paths:
        out.append("<h3>Paths (ping before the captures)</h3>"
                   + _table(["from", "to", "address", "reached", "rtt ms"], paths))
    caps = [[_e(c.get("host")), _e(c.get("interface")), _e(c.get("captured")),
             _e(c.get("received")), _e(c.get("dropped"))] for c in result.get("captures", [])]
    if caps:
        out.append("<h3>Captures</h3>"
                   + _table(["host", "interface", "captured", "received", "kernel drops"], caps))
    conns = []
    for c in result.get("connections", []):
        o, t = c.get("outcome") or {}, c.get("tcp") or {}
        conns.append([_e(f"{c.get('client')}@{c.get('client_host')}"),
                      _e(f"{c.get('server')}@{c.get('server_host')}:{c.get('port')}"),
                      _e(o.get("version")), _e(o.get("cipher")), _e(t.get("round_trips")),
                      _e(t.get("handshake_time")), _e(t.get("retransmissions")),
                      _e(o.get("error_class") or o.get("alert_received") or "")])
    if conns:
        out.append("<h3>Connections (result.json)</h3>"
                   + _table(["client", "server", "version", "cipher", "round trips",
                             "handshake s", "retransmissions", "error / alert"], conns))
    return "".join(out)


def _facts(view: ConnectionView) -> str:
    t, tls = view.tcp, view.tls
    pairs = [("client ISN / server ISN", f"{t.client_isn} / {t.server_isn}"),
             ("MSS", f"{t.client_mss} / {t.server_mss}"),
             ("window scale", f"{t.client_wscale} / {t.server_wscale}"),
             ("retransmissions", f"{t.counts.retransmissions} (RTO {t.counts.rto_retransmissions},"
                                 f" fast {t.counts.fast_retransmissions}, spurious "
                                 f"{t.counts.spurious_retransmissions})"),
             ("duplicate ACKs / out-of-order / zero windows",
              f"{t.counts.duplicate_acks} / {t.counts.out_of_order} / {t.counts.zero_windows}"),
             ("RTT samples", str(len(t.rtt_samples))),
             ("TCP handshake RTT ms", t.tcp_handshake_rtt_ms),
             ("SYN to TLS handshake complete ms", t.syn_to_handshake_complete_ms),
             ("round trips before app data", t.round_trips_before_app_data),
             ("time to first app byte ms", t.time_to_first_app_byte_ms),
             ("closed by", t.closed_by)]
    if tls is not None:
        pairs += [("TLS", f"{tls.version} {tls.cipher_suite}"),
                  ("SNI / ALPN", f"{tls.sni or '-'} / {tls.alpn or '-'}"),
                  ("decryption", tls.decryption)]
    return _fields(pairs)


def _fields(pairs) -> str:
    return '<dl class="fields">' + "".join(f"<dt>{_e(n)}</dt><dd>{_e(v)}</dd>"
                                            for n, v in pairs) + "</dl>"


def _packet_row(r: PacketRow) -> list[str]:
    d = "c2s" if r.from_client else "s2c"
    what = [f'<span class="{d}">{_e(r.label)}</span>'] if r.label else []
    what += [f'<span class="warn">[{_e(e)}]</span>' for e in r.events]
    what += [f'<div class="note">{_e(n)}</div>' for n in r.notes]
    for line in r.tls:
        tag = " [decrypted]" if line.decrypted else (" [encrypted]" if line.encrypted else "")
        body = _fields([(f.name, f.value) for f in line.fields]) + "".join(
            f'<div class="note">note: {_e(n)}</div>' for n in line.notes)
        what.append(f'<details><summary class="{d}">{_e(line.label)}{_e(tag)}</summary>'
                    f'{body}</details>')
    return [str(r.index), f"{r.rel_ms:.3f}", f'<span class="{d}">{"&rarr;" if r.from_client else "&larr;"}</span>',
            _e(r.flags), str(r.rel_seq), str(r.rel_ack), str(r.seq), str(r.window),
            str(r.payload_len), _e(r.options), "".join(what)]


def connection(cmp: Comparison, client_host: str | None, server_host: str | None) -> str:
    view = cmp.views[0]
    cut = (f"<p>The ladder shows the first {MAX_ROWS} of {len(cmp.rows)} segments.</p>"
           if len(cmp.rows) > MAX_ROWS else "")
    head = (f"<h2>Connection {view.number}: {_e(view.client)}:{view.client_port} &rarr; "
            f"{_e(view.server)}:{view.server_port}</h2>"
            f"<p>Captured at {_e(', '.join(cmp.vantages))}; the table is {_e(view.vantage)}'s "
            "view. Hover an arrow for its details.</p>")
    rows = [_packet_row(r) for r in view.rows]
    table = _table(["#", "ms", "dir", "flags", "seq", "ack", "abs seq", "win", "len", "options",
                    "walkthrough step / TLS"], rows, "packets")
    return (head + _facts(view) + "<h3>Ladder</h3>" + cut
            + ladder_svg(cmp, client_host, server_host) + "<h3>Packets</h3>" + table)


def render(result: dict, title: str, comparisons: list[Comparison],
           client_host: str | None, server_host: str | None) -> str:
    verdict = result.get("verdict")
    badge = f' <span class="{"pass" if verdict == "pass" else "fail"}">{_e(verdict).upper()}</span>' \
        if verdict else ""
    parts = [f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
             f"<title>tlslab: {_e(title)}</title><style>{CSS}</style></head><body>",
             f"<h1>{_e(title)}{badge}</h1>", "<h2>Expectations</h2>", expectations(result),
             "<h2>Links and figures</h2>", link_figures(result)]
    if not comparisons:
        parts.append("<p>No TCP connection in the captures.</p>")
    parts += [connection(c, client_host, server_host) for c in comparisons]
    parts.append("</body></html>")
    return "\n".join(parts)
