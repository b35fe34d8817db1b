"""The walkthrough's ladder diagram, as observed in one connection.

ladder() labels each handshake packet and TLS message with the step number of
/work/shared/reference/tls-walkthrough.txt ("2.1 ClientHello") and attaches a
note wherever the real protocol differs from the walkthrough's story.
"""
from __future__ import annotations

from dataclasses import dataclass

from lab.analysis import tls_messages as tm
from lab.analysis.pcap import ACK, FIN, RST, SYN
from lab.analysis.tcp import Connection, TcpAnalysis, analyze_tcp
from lab.analysis.tls import TlsMessage, TlsSession, analyze_tls

_CERT_ALERTS = {"bad_certificate", "unsupported_certificate", "certificate_revoked",
                "certificate_expired", "certificate_unknown", "unknown_ca",
                "certificate_required", "bad_certificate_status_response"}

# Notes that hold whenever the step appears.
N_SHD_ORDER = ("ServerHelloDone ends the server's flight, so it always precedes the "
               "client's ClientKeyExchange (2.5); the walkthrough lists them the other way")
N_MASTER = ("2.6 is not on the wire: both sides derive the master secret from this "
            "exchange; it is never sent")
N_VERIFY = "2.4 is not on the wire: the client checks the certificate locally"
N_RSA_CKE = "RSA key exchange: the pre-master secret travels encrypted with the server's key"
N_ECDHE_CKE = ("(EC)DHE: this carries the client's ephemeral public key, not an "
               "encrypted pre-master secret")
N_SKE = ("not in the walkthrough: the server sends its ephemeral key share, signed with "
         "the certificate's key; the certificate key never encrypts anything")
N_13_LEGACY_CH = ("legacy_version says TLS 1.2; TLS 1.3 is offered in the "
                  "supported_versions extension")
N_13_LEGACY_SH = ("legacy_version says TLS 1.2; the chosen TLS 1.3 is in supported_versions; "
                  "everything after this message is encrypted")
N_13_CERT = ("TLS 1.3 encrypts the certificate: an observer cannot read it "
             "(label inferred from record order and size)")
N_13_NO_SHD = "TLS 1.3 has no ServerHelloDone (2.7), ClientKeyExchange (2.5) or ServerKeyExchange"
N_13_SERVER_FIRST = "TLS 1.3: the server's Finished (2.11) comes before the client's (2.9)"
N_13_CCS = "middlebox-compatibility ChangeCipherSpec: TLS 1.3 switches keys without it"
N_HRR = ("not in the walkthrough: the server asks for a key share in another group, "
         "costing a round trip")


@dataclass(frozen=True)
class Step:
    index: int  # packet (for TLS messages: where the last byte arrived)
    ts_ns: int
    rel_ms: float  # since the connection's first packet
    from_client: bool
    step: str  # walkthrough number, "" when the walkthrough has no such step
    label: str
    notes: tuple[str, ...] = ()


def ladder(conn: Connection, tcp: TcpAnalysis | None = None,
           tls: TlsSession | None = None) -> list[Step]:
    tcp = tcp or analyze_tcp(conn)
    if tls is None:
        tls = analyze_tls(conn)
    t0 = conn.packets[0].ts_ns if conn.packets else 0
    items: list[tuple[int, int, Step]] = []

    def add(order: int, index: int, ts: int, side: bool, step: str, label: str, *notes) -> None:
        text = f"{step} {label}" if step else label
        items.append((index, order, Step(index, ts, (ts - t0) / 1e6, side, step, text,
                                         tuple(n for n in notes if n))))

    for order, (step, label, pkt, side, notes) in enumerate(_tcp_steps(conn, tcp)):
        add(order, pkt.index, pkt.ts_ns, side, step, label, *notes)
    if tls is not None:
        for order, msg in enumerate(tls.messages):
            step, label, notes = _tls_step(msg, tls)
            add(1000 + order, msg.index, msg.ts_ns, msg.from_client, step, label, *notes)
    items.sort(key=lambda item: (item[0], item[1]))
    return [step for _, _, step in items]


def _tcp_steps(conn: Connection, tcp: TcpAnalysis):
    resent = {r.index for r in tcp.retransmissions}
    synack_seen = handshake_acked = False
    fins: dict[bool, int] = {}
    for pkt, side in zip(conn.packets, conn.from_client):
        again = " (retransmission)" if pkt.index in resent else ""
        flags = pkt.flags
        if flags & SYN and not flags & ACK:
            opts = pkt.options
            yield ("1.1", f"SYN{again}", pkt, side,
                   [f"ISN {pkt.seq}, MSS {opts.mss}, window scale {opts.wscale}, "
                    f"SACK {'permitted' if opts.sack_permitted else 'off'}; the SYN's window "
                    "is never scaled"])
        elif flags & SYN:
            synack_seen = True
            yield "1.2", f"SYN-ACK{again}", pkt, side, [f"ISN {pkt.seq}, MSS {pkt.options.mss}"]
        elif synack_seen and not handshake_acked and side and flags & ACK:
            handshake_acked = True
            note = "carries data: the ACK is piggybacked" if pkt.payload_len else None
            yield "1.3", "ACK", pkt, side, [note]
        if flags & RST:
            yield "close", f"RST from {'client' if side else 'server'}", pkt, side, \
                ["abortive close: no FIN exchange"]
        elif flags & FIN and side not in fins:
            fins[side] = pkt.seq + pkt.payload_len
            other = fins.get(not side)
            note = None
            if other is not None and flags & ACK and pkt.ack == (other + 1) % (1 << 32):
                note = ("this FIN also ACKs the other side's FIN: three segments close the "
                        "connection, not the walkthrough's four")
            yield "close", f"FIN from {'client' if side else 'server'}", pkt, side, [note]


def _tls_step(msg: TlsMessage, tls: TlsSession) -> tuple[str, str, list[str | None]]:
    kind, d, side, t13 = msg.kind, msg.detail, msg.from_client, tls.tls13
    inferred = " (inferred)" if msg.inferred else ""
    if kind == "ClientHello" and isinstance(d, tm.ClientHello):
        again = " after HelloRetryRequest" if tls.hello_retry_request and msg is not \
            next(m for m in tls.messages if m.kind == "ClientHello") else ""
        offers13 = "TLS 1.3" in d.supported_versions and d.legacy_version != "TLS 1.3"
        return "2.1", (f"ClientHello{again}: {d.legacy_version}, {len(d.cipher_suites)} suites, "
                       f"SNI {d.sni}"), [N_13_LEGACY_CH if offers13 else None]
    if kind == "HelloRetryRequest" and isinstance(d, tm.ServerHello):
        return "", f"HelloRetryRequest: wants group {d.key_share_group}", [N_HRR]
    if kind == "ServerHello" and isinstance(d, tm.ServerHello):
        return "2.2", f"ServerHello: {d.version}, {d.cipher_suite}", \
            [N_13_LEGACY_SH if d.tls13 else None, N_13_NO_SHD if d.tls13 else None]
    if kind == "Certificate" and not side:
        if isinstance(d, tm.CertificateChain) and d.certificates:
            leaf = d.certificates[0]
            return "2.3", f"Certificate: {leaf.subject} (issuer {leaf.issuer})", []
        return "2.3", f"Certificate{inferred}", [N_13_CERT if t13 else None]
    if kind == "ServerKeyExchange":
        group = d.group if isinstance(d, tm.ServerKeyExchange) else None
        return "", f"ServerKeyExchange: {group}", [N_SKE]
    if kind == "ServerHelloDone":
        return "2.7", "ServerHelloDone", [N_SHD_ORDER]
    if kind == "ClientKeyExchange":
        label, carries = "ClientKeyExchange", None
        if isinstance(d, tm.ClientKeyExchange):
            label += f": {d.carries}, {d.length} bytes"
            carries = N_RSA_CKE if d.kind == "rsa" else N_ECDHE_CKE
        return "2.5", label, [N_VERIFY, carries, N_MASTER]
    if kind == "ChangeCipherSpec":
        who = "client" if side else "server"
        notes = [N_13_CCS] if t13 or tls.hello_retry_request else []
        return ("2.8" if side else "2.10"), f"{who} ChangeCipherSpec", notes
    if kind == "Finished":
        who = "client" if side else "server"
        notes = [N_13_SERVER_FIRST if t13 and side else None]
        if not t13 and not side:
            notes.append("its keys were derived, never exchanged (2.6)")
        return ("2.9" if side else "2.11"), f"{who} Finished (encrypted){inferred}", notes
    if kind == "Alert" and isinstance(d, tm.Alert):
        if d.description == "close_notify":
            return "close", f"close_notify from {'client' if side else 'server'}", []
        if side and d.description in _CERT_ALERTS:
            return "2.4", f"certificate rejected: {d.level} alert {d.description}", \
                ["the client's check (2.4) failed: it aborts instead of sending 2.5"]
        return "", f"{d.level} alert {d.description}", []
    if kind == "EncryptedAlert":
        return "close", f"encrypted alert{inferred}", \
            ["alert sent under the session keys: its description is not visible"]
    if kind == "ApplicationData":
        return "3", f"data: {msg.length}-byte record", [msg.note]
    notes = {"EncryptedExtensions": "TLS 1.3 only: extensions such as ALPN, now encrypted",
             "CertificateVerify": "TLS 1.3: the server signs the handshake transcript, "
                                  "proving it holds the certificate's key",
             "NewSessionTicket": "not in the walkthrough: a ticket for session resumption"}
    return "", f"{kind}{inferred}", [notes.get(kind)]
