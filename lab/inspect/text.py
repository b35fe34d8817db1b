"""Text for a terminal: aligned tables, colour only when asked (a TTY).

Pure functions from the inspect model to a string; the CLI decides colour.
"""
from __future__ import annotations

import statistics

from lab.inspect.compare import Comparison
from lab.inspect.model import ConnectionView, PacketRow, TlsLine

_STYLES = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "blue": "34",
           "magenta": "35", "cyan": "36"}
_COLUMNS = ("#", "time ms", "dir", "flags", "seq", "ack", "abs seq", "abs ack", "win", "len",
            "options", "step")
_RIGHT = {"#", "time ms", "seq", "ack", "abs seq", "abs ack", "win", "len"}
_INDENT = "      "


class _Paint:
    def __init__(self, color: bool):
        self.color = color

    def __call__(self, text: str, *styles: str) -> str:
        if not self.color or not styles or not text:
            return text
        codes = ";".join(_STYLES[s] for s in styles)
        return f"\x1b[{codes}m{text}\x1b[0m"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f} ms"


def _arrow(from_client: bool, color: bool) -> str:
    if color:
        return "\u2192" if from_client else "\u2190"
    return "->" if from_client else "<-"


def _cells(row: PacketRow, color: bool) -> list[str]:
    where = {True: " tx", False: " rx", None: ""}[row.sent]
    step = " ".join(filter(None, [row.label] + [f"[{e}]" for e in row.events]))
    return [str(row.index), f"{row.rel_ms:.3f}", _arrow(row.from_client, color) + where,
            row.flags, str(row.rel_seq), str(row.rel_ack), str(row.seq), str(row.ack),
            str(row.window), str(row.payload_len), row.options, step]


def _pad(cells: list[str], widths: list[int]) -> str:
    out = []
    for name, cell, width in zip(_COLUMNS, cells, widths):
        out.append(cell.rjust(width) if name in _RIGHT else cell.ljust(width))
    return "  ".join(out).rstrip()


def _tls_block(line: TlsLine, paint: _Paint) -> list[str]:
    if line.kind == "MasterSecret":  # 2.6 happens inside both hosts, not on the wire
        who, tag = "", " [computed, not on the wire]"
    else:
        who = "  (client)" if line.from_client else "  (server)"
        tag = " [decrypted]" if line.decrypted else (" [encrypted]" if line.encrypted else "")
    began = f" (began in #{line.first_index})" if line.first_index else ""
    head = paint(line.label, "bold", "cyan" if line.from_client else "magenta")
    out = [f"{_INDENT}{head}{paint(tag, 'green' if line.decrypted else 'dim')}{began}{who}"]
    width = max((len(f.name) for f in line.fields), default=0)
    for f in line.fields:
        out.append(f"{_INDENT}    {f.name.ljust(width)}  {f.value}")
    for note in line.notes:
        out.append(f"{_INDENT}    {paint('note: ' + note, 'yellow')}")
    return out


def render_view(view: ConnectionView, color: bool = False) -> str:
    paint = _Paint(color)
    t, tls = view.tcp, view.tls
    out = [paint(f"connection {view.number}: {view.client}:{view.client_port} -> "
                 f"{view.server}:{view.server_port}", "bold")
           + f"  seen at {view.vantage} ({view.capture}, tcp.stream {view.stream})",
           f"  TCP  ISN client {t.client_isn} / server {t.server_isn}, MSS {t.client_mss}/"
           f"{t.server_mss}, wscale {t.client_wscale}/{t.server_wscale}, SACK "
           f"{'on' if t.sack_permitted else 'off'}, timestamps {'on' if t.timestamps else 'off'}"
           f"; {t.packets} packets, {t.client_bytes}/{t.server_bytes} payload bytes"]
    if tls is not None:
        out.append(f"  TLS  {tls.version} {tls.cipher_suite}, SNI {tls.sni or '-'}, ALPN {tls.alpn or '-'}; "
                   f"decryption: {tls.decryption}"
                   + (f" (secrets from {tls.secrets_from})" if tls.secrets_from else ""))
    out.append("")
    cells = [_cells(r, color) for r in view.rows]
    widths = [max([len(h)] + [len(c[i]) for c in cells]) for i, h in enumerate(_COLUMNS)]
    out.append(paint(_pad(list(_COLUMNS), widths), "bold"))
    for row, c in zip(view.rows, cells):
        style = ("red",) if any("retransmission" in e for e in row.events) else \
            (("cyan",) if row.from_client else ("magenta",))
        out.append(paint(_pad(c, widths), *style))
        for note in row.notes:
            out.append(f"{_INDENT}{paint('note: ' + note, 'yellow')}")
        if row.records:
            out.append(f"{_INDENT}{paint('TLS records: ' + ', '.join(row.records), 'dim')}")
        for line in row.tls:
            out.extend(_tls_block(line, paint))
    out += [""] + _tcp_section(view, paint) + _data_section(view, paint)
    return "\n".join(out)


def _tcp_section(view: ConnectionView, paint: _Paint) -> list[str]:
    t, c = view.tcp, view.tcp.counts
    rtts = [s.rtt_ns / 1e6 for s in t.rtt_samples]
    rtt = (f"{len(rtts)}: min {min(rtts):.3f} ms, median {statistics.median(rtts):.3f} ms, "
           f"max {max(rtts):.3f} ms") if rtts else "none"
    pairs = [
        ("retransmissions", f"{c.retransmissions} (RTO {c.rto_retransmissions}, fast "
                            f"{c.fast_retransmissions}, spurious {c.spurious_retransmissions})"),
        ("duplicate ACKs", _listed(c.duplicate_acks, t.duplicate_acks)),
        ("out-of-order", _listed(c.out_of_order, t.out_of_order)),
        ("zero windows", _listed(c.zero_windows, t.zero_windows)),
        ("RTT samples", rtt),
        ("TCP handshake RTT", _ms(t.tcp_handshake_rtt_ms)),
        ("SYN to TLS handshake complete", _ms(t.syn_to_handshake_complete_ms)),
        ("round trips before app data", str(t.round_trips_before_app_data)),
        ("time to first app byte", _ms(t.time_to_first_app_byte_ms)),
        ("time to first response byte", _ms(t.time_to_first_response_byte_ms)),
        ("closed by", t.closed_by or "not closed in the capture"),
    ]
    width = max(len(n) for n, _ in pairs)
    out = [paint("  TCP analysis", "bold")]
    for name, value in pairs:
        out.append(f"    {name.ljust(width)}  {value}")
        if name == "retransmissions":
            for r in t.retransmissions:
                out.append(paint(f"      #{r.index} {r.kind.value} from "
                                 f"{'client' if r.from_client else 'server'}, seq {r.rel_seq} "
                                 f"len {r.seglen}, {r.delay_ns / 1e6:.3f} ms after #"
                                 f"{r.since_index}", "red"))
    return out


def _listed(count: int, indices: tuple[int, ...]) -> str:
    shown = ", ".join(f"#{i}" for i in indices[:20]) + (" ..." if len(indices) > 20 else "")
    return f"{count}" + (f" ({shown})" if indices else "")


def _data_section(view: ConnectionView, paint: _Paint) -> list[str]:
    from lab.inspect.fields import preview

    tls = view.tls
    if tls is None or not (tls.client_data or tls.server_data):
        return []
    out = ["", paint("  Decrypted application data", "bold")]
    for name, data, digest in (("client -> server", tls.client_data, tls.client_data_sha256),
                               ("server -> client", tls.server_data, tls.server_data_sha256)):
        if data:
            out.append(f"    {name}  {len(data)} bytes, sha256 {digest}")
            out.append(f"      {preview(data, 400)}")
    return out


def render_views(views: list[ConnectionView], color: bool = False) -> str:
    return "\n\n".join(render_view(v, color) for v in views)


def render_comparison(cmp: Comparison, color: bool = False) -> str:
    paint = _Paint(color)
    head = ["dir", "flags", "seq", "ack", "len", "what"] + list(cmp.vantages)
    cells = []
    for r in cmp.rows:
        what = " ".join(filter(None, [r.label] + [f"[{e}]" for e in r.events]))
        seen = [f"#{s.index:<5}{s.rel_ms:9.3f} ms" if s else "-- not captured" for s in r.seen]
        cells.append([_arrow(r.from_client, color), r.flags, str(r.rel_seq), str(r.rel_ack),
                      str(r.payload_len), what[:60]] + seen)
    widths = [max([len(h)] + [len(c[i]) for c in cells]) for i, h in enumerate(head)]

    def line(c: list[str]) -> str:
        left = "  ".join(x.rjust(w) if i in (2, 3, 4) else x.ljust(w)
                         for i, (x, w) in enumerate(zip(c[:6], widths[:6])))
        return " | ".join([left] + [x.ljust(w) for x, w in zip(c[6:], widths[6:])]).rstrip()

    out = [paint(f"connection {cmp.client}:{cmp.client_port} -> {cmp.server}:{cmp.server_port}",
                 "bold") + f" as seen at {', '.join(cmp.vantages)}",
           "  times are since the first sighting at any host (lab hosts share one clock)", "",
           paint(line(head), "bold")]
    for r, c in zip(cmp.rows, cells):
        missing = any(s is None for s in r.seen)
        style = ("red",) if missing or any("retransmission" in e for e in r.events) else \
            (("cyan",) if r.from_client else ("magenta",))
        out.append(paint(line(c), *style))
    return "\n".join(out)


def render_comparisons(cmps: list[Comparison], color: bool = False) -> str:
    return "\n\n".join(render_comparison(c, color) for c in cmps)
