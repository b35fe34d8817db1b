"""One connection as a timeline: every packet, and the TLS inside it,
labelled with the walkthrough's steps.

lab.analysis supplies the TCP analysis, the TLS messages and the ladder;
lab.decrypt opens the records. Decrypted records replace the analysis'
guesses (TLS 1.3 labels inferred from record sizes) with what they hold,
and the ladder is rebuilt from the result, so step labels and notes follow
the decrypted truth.
"""
from __future__ import annotations

import hashlib
from dataclasses import replace

from lab.analysis import ladder, summarize
from lab.analysis import tls_messages as tm
from lab.analysis.pcap import Packet, TcpOptions
from lab.analysis.tcp import Connection, TcpAnalysis, analyze_tcp
from lab.analysis.tls import TlsMessage, TlsSession, analyze_tls
from lab.decrypt import KeyLog, ServerKey, open_connection
from lab.decrypt.model import Decryption, HandshakeMessage, RecordView
from lab.inspect import fields as fx
from lab.inspect.model import ConnectionView, Field, PacketRow, TcpFacts, TlsFacts, TlsLine

_MOD = 1 << 32
_EVENT_NAMES = {"retransmission": "RTO retransmission",
                "fast_retransmission": "fast retransmission",
                "spurious_retransmission": "spurious retransmission",
                "duplicate_ack": "dup ACK", "out_of_order": "out-of-order",
                "zero_window": "zero window", "zero_window_probe": "zero-window probe",
                "zero_window_probe_ack": "zero-window probe ACK",
                "window_update": "window update", "window_full": "window full",
                "keep_alive": "keep-alive", "keep_alive_ack": "keep-alive ACK",
                "lost_segment": "previous segment not captured",
                "ack_lost_segment": "ACKs a segment not captured"}


def build_view(conn: Connection, vantage: str = "", capture: str = "", number: int = 0,
               keylog: KeyLog | None = None, server_keys: list[ServerKey] | None = None,
               sessions: dict | None = None, local: frozenset[str] = frozenset()
               ) -> ConnectionView:
    """The inspect view of one connection; `local` holds the vantage host's
    addresses, to tell packets it sent from packets it received."""
    tcp = analyze_tcp(conn)
    tls = analyze_tls(conn)
    opened = open_connection(conn, keylog, server_keys, sessions) if tls else None
    messages, extras = _merge(tls, opened) if tls else ([], [])
    tls2 = replace(tls, messages=tuple(messages)) if tls else None
    t0 = conn.packets[0].ts_ns if conn.packets else 0
    tcp_steps: dict[int, list] = {}
    for s in ladder(conn, tcp, replace(tls2, messages=()) if tls2 else None):
        tcp_steps.setdefault(s.index, []).append(s)
    tls_lines = _tls_lines(conn, tcp, tls2, messages, extras, opened, tcp_steps)
    records: dict[int, list[str]] = {}
    for rec, text in _record_texts(tls, opened):
        records.setdefault(rec.index, []).append(text)
    rows = []
    for pkt, side, seg in zip(conn.packets, conn.from_client, tcp.segments):
        steps = tcp_steps.get(pkt.index, [])
        rows.append(PacketRow(
            index=pkt.index, rel_ms=(pkt.ts_ns - t0) / 1e6, from_client=side,
            sent=True if pkt.src in local else (False if pkt.dst in local else None),
            flags=seg.flags, seq=pkt.seq, ack=pkt.ack, rel_seq=seg.rel_seq, rel_ack=seg.rel_ack,
            window=seg.window, raw_window=pkt.window,
            options=_options(pkt, tcp, side), payload_len=pkt.payload_len,
            events=tuple(_EVENT_NAMES.get(e, e.replace("_", " ")) for e in seg.events),
            step=" ".join(dict.fromkeys(s.step for s in steps)),
            label="; ".join(s.label for s in steps),
            notes=tuple(n for s in steps for n in s.notes),
            records=tuple(records.get(pkt.index, ())), tls=tuple(tls_lines.get(pkt.index, ()))))
    summary = summarize(conn, tcp, tls2)
    return ConnectionView(
        number=number, stream=conn.stream, vantage=vantage, capture=capture, client=conn.client,
        client_port=conn.client_port, server=conn.server, server_port=conn.server_port,
        first_ts_ns=t0, tcp=_tcp_facts(tcp, summary), tls=_tls_facts(tls2, opened),
        rows=tuple(rows))


def _options(pkt: Packet, tcp: TcpAnalysis, side: bool) -> str:
    o: TcpOptions = pkt.options
    out = []
    if o.mss is not None:
        out.append(f"mss={o.mss}")
    if o.wscale is not None:
        out.append(f"ws={o.wscale} (x{1 << o.wscale})")
    if o.sack_permitted:
        out.append("sack_perm")
    if o.sack_blocks:
        # SACK blocks are in the other side's sequence space.
        isn = tcp.server_isn if side else tcp.client_isn
        base = isn or 0
        out.append("sack=" + ",".join(f"{(a - base) % _MOD}-{(b - base) % _MOD}"
                                      for a, b in o.sack_blocks))
    if o.ts_val is not None:
        out.append(f"ts={o.ts_val}/{o.ts_ecr}")
    return " ".join(out)


# --- TLS: messages, decrypted -------------------------------------------------

def _units(opened: Decryption, side: bool) -> list:
    """Per side, what lab.analysis.tls makes one message of: each plaintext
    handshake message, and each other record."""
    out: list = []
    for v in opened.records:
        if v.record.from_client != side:
            continue
        if v.record.content_type == "handshake" and not v.encrypted:
            out.extend(v.messages)
        else:
            out.append(v)
    return out


def _merge(tls: TlsSession, opened: Decryption | None) -> tuple[list[TlsMessage], list]:
    """The analysis' messages with decrypted records opened up, and for each
    message its extra: raw HandshakeMessage, RecordView, or None."""
    if opened is None:
        return list(tls.messages), [None] * len(tls.messages)
    queues = {}
    for side in (True, False):
        units = _units(opened, side)
        if len(units) != sum(m.from_client == side for m in tls.messages):
            return list(tls.messages), [None] * len(tls.messages)  # cannot align: show as is
        queues[side] = iter(units)
    msgs, extras = [], []
    for m in tls.messages:
        unit = next(queues[m.from_client])
        if isinstance(unit, RecordView) and unit.decrypted:
            for new, extra in _opened_messages(m, unit, opened.tls13):
                msgs.append(new)
                extras.append(extra)
        else:
            msgs.append(m)
            extras.append(unit)
    return msgs, extras


def _opened_messages(m: TlsMessage, v: RecordView, tls13: bool):
    if v.inner_type == "handshake":
        for hm in v.messages:
            yield _from_handshake(hm, tls13), hm
    elif v.inner_type == "alert" and len(v.plaintext) == 2:
        yield replace(m, kind="Alert", inferred=False, note=None,
                      detail=tm.parse_alert(v.plaintext)), v
    elif v.inner_type == "application_data":
        yield replace(m, kind="ApplicationData", inferred=False, note=None), v
    else:
        yield replace(m, inferred=False), v


def _from_handshake(hm: HandshakeMessage, tls13: bool) -> TlsMessage:
    kind = tm.HANDSHAKE_TYPES.get(hm.type, f"handshake type {hm.type}")
    detail = hm.detail if isinstance(hm.detail, tm.CertificateChain) else None
    return TlsMessage(hm.from_client, kind, hm.index, hm.ts_ns, hm.first_index, hm.first_ts_ns,
                      len(hm.raw), encrypted=True, detail=detail)


def _tls_lines(conn, tcp, tls2, messages, extras, opened,
               tcp_steps: dict[int, list]) -> dict[int, list[TlsLine]]:
    if tls2 is None:
        return {}
    # Ladder steps at a packet: the TCP ones first, then one per message in order.
    n_tcp = {index: len(steps) for index, steps in tcp_steps.items()}
    steps: dict[int, list] = {}
    for s in ladder(conn, tcp, tls2):
        steps.setdefault(s.index, []).append(s)
    taken: dict[int, int] = {}
    out: dict[int, list[TlsLine]] = {}
    for m, extra in zip(messages, extras):
        k = n_tcp.get(m.index, 0) + taken.get(m.index, 0)
        taken[m.index] = taken.get(m.index, 0) + 1
        here = steps.get(m.index, [])
        step = here[k] if k < len(here) else None
        out.setdefault(m.index, []).append(_line(m, extra, step))
        if m.kind == "ClientKeyExchange" and opened is not None and not opened.tls13:
            out[m.index].append(_master_line(m, opened))
    return out


def _line(m: TlsMessage, extra, step) -> TlsLine:
    raw = extra.raw if isinstance(extra, HandshakeMessage) else None
    dec_detail = extra.detail if isinstance(extra, HandshakeMessage) and extra.encrypted else None
    pairs = list(fx.message_fields(m.kind, m.detail, raw, dec_detail))
    decrypted = isinstance(extra, HandshakeMessage) and extra.encrypted or \
        isinstance(extra, RecordView) and extra.decrypted
    if m.kind == "ChangeCipherSpec":
        pairs.append(Field("body", "0x01: switch to the negotiated keys"))
    if m.kind in ("ApplicationData", "EncryptedAlert", "EncryptedHandshake") or \
            (m.encrypted and not decrypted):
        pairs.append(Field("record", f"{m.length} bytes encrypted"))
    if isinstance(extra, RecordView):
        if extra.decrypted and extra.inner_type == "application_data":
            pairs += [Field("plaintext", f"{len(extra.plaintext)} bytes"),
                      Field("data", fx.preview(extra.plaintext))]
        elif extra.error:
            pairs.append(Field("not decrypted", extra.error))
    label = step.label if step else m.kind
    notes = tuple(step.notes) if step else ()
    if m.note and not notes:  # the ladder's own notes already say it otherwise
        notes = (m.note,)
    return TlsLine(m.from_client, m.kind, step.step if step else "", label, tuple(pairs), notes,
                   m.encrypted, bool(decrypted),
                   m.first_index if m.first_index != m.index else None)


def _master_line(m: TlsMessage, opened: Decryption) -> TlsLine:
    if opened.rsa is not None:
        pairs = fx.premaster_check(opened.rsa)
        label = "2.6 master secret, computed from the pre-master secret the server decrypted"
    elif opened.master_secret is not None:
        pairs = [("master secret", opened.master_secret.hex()),
                 ("from", opened.secrets_from or "")]
        label = "2.6 master secret (from outside the capture)"
    else:
        pairs = [("master secret", "unknown: no key log line and no server key")]
        label = "2.6 master secret"
    note = ("not on the wire: both sides derive it; RSA lets the server's private key "
            "recompute it from the capture" if opened.rsa else
            "not on the wire: (EC)DHE secrets cannot be recomputed from a capture")
    return TlsLine(True, "MasterSecret", "2.6", label, tuple(Field(n, v) for n, v in pairs),
                   (note,), decrypted=opened.master_secret is not None)


def _record_texts(tls: TlsSession | None, opened: Decryption | None):
    if opened is not None:
        for v in opened.records:
            r = v.record
            inner = f" -> {v.inner_type}" if v.decrypted else (" (encrypted)" if v.encrypted else "")
            yield r, f"{r.content_type} {r.version} len={r.length}{inner}"
    elif tls is not None:
        for r in tls.records:
            yield r, f"{r.content_type} {r.version} len={r.length}"


# --- facts ---------------------------------------------------------------------

def _tcp_facts(tcp: TcpAnalysis, s) -> TcpFacts:
    def marked(name: str) -> tuple[int, ...]:
        return tuple(seg.index for seg in tcp.segments if name in seg.events)

    return TcpFacts(
        client_isn=tcp.client_isn, server_isn=tcp.server_isn, client_mss=tcp.client_mss,
        server_mss=tcp.server_mss, client_wscale=tcp.client_wscale,
        server_wscale=tcp.server_wscale, sack_permitted=tcp.sack_permitted,
        timestamps=tcp.timestamps, packets=tcp.packets, client_bytes=tcp.client_bytes,
        server_bytes=tcp.server_bytes, counts=tcp.counts, retransmissions=tcp.retransmissions,
        duplicate_acks=marked("duplicate_ack"), out_of_order=marked("out_of_order"),
        zero_windows=marked("zero_window"), rtt_samples=tcp.rtt_samples,
        tcp_handshake_rtt_ms=s.tcp_handshake_rtt_ms,
        syn_to_handshake_complete_ms=s.syn_to_handshake_complete_ms,
        round_trips_before_app_data=s.round_trips_before_app_data,
        time_to_first_app_byte_ms=s.time_to_first_app_byte_ms,
        time_to_first_response_byte_ms=s.time_to_first_response_byte_ms,
        closed_by=tcp.closed_by)


def _tls_facts(tls: TlsSession | None, opened: Decryption | None) -> TlsFacts | None:
    if tls is None:
        return None
    cdata = opened.app_data(True) if opened else b""
    sdata = opened.app_data(False) if opened else b""
    opened_msgs = [hm for v in (opened.records if opened else ()) for hm in v.messages]
    fins = tuple(hm.detail.verified for hm in opened_msgs
                 if hm.type == 20 and hm.detail is not None)
    # TLS 1.3 sends the chosen ALPN in the encrypted EncryptedExtensions.
    alpn = tls.alpn or next((hm.detail.alpn for hm in opened_msgs
                             if hm.type == 8 and hm.detail is not None), None)
    return TlsFacts(
        version=tls.version, cipher_suite=tls.cipher_suite, key_exchange=tls.key_exchange,
        sni=tls.sni, alpn=alpn,
        client_random=opened.client_random.hex() if opened and opened.client_random else None,
        decryption=opened.status if opened else "not a TLS stream from the start",
        secrets_from=opened.secrets_from if opened else None,
        master_secret=opened.master_secret.hex() if opened and opened.master_secret else None,
        finished_verified=fins, client_data=cdata, server_data=sdata,
        client_data_sha256=hashlib.sha256(cdata).hexdigest() if cdata else None,
        server_data_sha256=hashlib.sha256(sdata).hexdigest() if sdata else None)
