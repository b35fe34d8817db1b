"""TCP connections and their analysis: ISNs, handshake, events, RTT samples.

The per-packet events (retransmissions, duplicate ACKs, out-of-order, window
events) come from tcp_rules, which mirrors Wireshark 4.0 so counts agree with
tshark's tcp.analysis.* fields. RTT samples follow tshark too, plus Karn's
rule (see _track_unacked).
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field

from lab.analysis.pcap import ACK, FIN, RST, SYN, Packet, flag_names
from lab.analysis.tcp_rules import Events, Flow, seq_le, sequence_events

_MOD = 1 << 32


class RetransmissionKind(str, enum.Enum):
    RTO = "rto"             # tshark: plain "retransmission"
    FAST = "fast"           # tshark: fast_retransmission
    SPURIOUS = "spurious"   # tshark: spurious_retransmission (data already ACKed)


@dataclass
class Connection:
    """The packets of one TCP connection, split by 4-tuple and SYN."""

    stream: int
    client: str
    client_port: int
    server: str
    server_port: int
    packets: list[Packet] = field(default_factory=list, repr=False)
    from_client: list[bool] = field(default_factory=list, repr=False)


@dataclass(frozen=True)
class SegmentAnalysis:
    index: int
    from_client: bool
    rel_seq: int
    rel_ack: int
    seglen: int
    flags: str
    window: int  # scaled, in bytes
    events: tuple[str, ...]  # tshark's tcp.analysis.<name> flags


@dataclass(frozen=True)
class Retransmission:
    index: int
    from_client: bool
    kind: RetransmissionKind
    rel_seq: int
    seglen: int
    # Frame that last advanced the sender's highest sequence number, and the
    # time since then (tshark's tcp.analysis.rto_frame / rto for RTO kind).
    since_index: int
    delay_ns: int


@dataclass(frozen=True)
class RttSample:
    index: int          # the ACK
    acked_index: int    # the data segment it acknowledges exactly
    data_from_client: bool
    rtt_ns: int


@dataclass(frozen=True)
class Handshake:
    syn_index: int | None = None
    synack_index: int | None = None
    ack_index: int | None = None
    syn_ts_ns: int | None = None
    # SYN to the first pure ACK: Wireshark's iRTT (tcp.analysis.initial_rtt).
    rtt_ns: int | None = None
    syn_to_synack_ns: int | None = None
    synack_to_ack_ns: int | None = None


@dataclass(frozen=True)
class TcpCounts:
    retransmissions: int = 0   # all kinds, as tcp.analysis.retransmission counts
    rto_retransmissions: int = 0
    fast_retransmissions: int = 0
    spurious_retransmissions: int = 0
    duplicate_acks: int = 0
    out_of_order: int = 0
    zero_windows: int = 0
    zero_window_probes: int = 0
    window_updates: int = 0
    window_full: int = 0
    keep_alives: int = 0
    lost_segments: int = 0
    acked_unseen: int = 0


@dataclass(frozen=True)
class TcpAnalysis:
    stream: int
    client: str
    client_port: int
    server: str
    server_port: int
    client_isn: int | None
    server_isn: int | None
    client_mss: int | None
    server_mss: int | None
    client_wscale: int | None
    server_wscale: int | None
    sack_permitted: bool
    timestamps: bool
    packets: int
    client_bytes: int
    server_bytes: int
    first_ts_ns: int
    last_ts_ns: int
    handshake: Handshake
    counts: TcpCounts
    closed_by: str | None  # "fin", "rst" or None
    retransmissions: tuple[Retransmission, ...] = ()
    rtt_samples: tuple[RttSample, ...] = ()
    segments: tuple[SegmentAnalysis, ...] = field(default=(), repr=False)


def split_connections(packets: list[Packet]) -> list[Connection]:
    """Group segments into connections, numbered like tshark's tcp.stream.

    A pure SYN whose sequence number differs from the current connection's
    client ISN on the same 4-tuple starts a new connection (port reuse); the
    same ISN again is a retransmitted SYN.
    """
    conns: list[Connection] = []
    current: dict[tuple, tuple[Connection, int | None]] = {}
    for pkt in packets:
        a, b = (pkt.src, pkt.sport), (pkt.dst, pkt.dport)
        key = (a, b) if a <= b else (b, a)
        pure_syn = pkt.flags & (SYN | ACK) == SYN
        entry = current.get(key)
        if entry is not None and pure_syn and entry[1] != pkt.seq:
            entry = None
        if entry is None:
            # The SYN's sender is the client; without a SYN, a SYN-ACK's
            # receiver; without either, the first sender.
            client_is_src = not (pkt.flags & SYN and pkt.flags & ACK)
            c, s = (a, b) if client_is_src else (b, a)
            entry = (Connection(len(conns), c[0], c[1], s[0], s[1]),
                     pkt.seq if pure_syn else None)
            conns.append(entry[0])
            current[key] = entry
        conn = entry[0]
        conn.packets.append(pkt)
        conn.from_client.append((pkt.src, pkt.sport) == (conn.client, conn.client_port))
    return conns


def analyze_tcp(conn: Connection) -> TcpAnalysis:
    """Per-packet tshark-style analysis plus the connection's summary."""
    flows = {True: Flow(), False: Flow()}
    segments: list[SegmentAnalysis] = []
    retrans: list[Retransmission] = []
    rtts: list[RttSample] = []
    first_rtt = mru_syn = 0
    hs: dict[str, int] = {}
    totals = {True: 0, False: 0}
    closed_by = None
    sack_ok = {True: False, False: False}
    tstamps = {True: False, False: False}

    for pkt, from_client in zip(conn.packets, conn.from_client):
        fwd, rev = flows[from_client], flows[not from_client]
        flags, seq, ack, seglen, win, now = (pkt.flags, pkt.seq, pkt.ack, pkt.payload_len,
                                             pkt.window, pkt.ts_ns)
        if flags & SYN:
            _note_syn(pkt, fwd, rev, hs)
            sack_ok[from_client] = pkt.options.sack_permitted
        tstamps[from_client] = tstamps[from_client] or pkt.options.ts_val is not None
        totals[from_client] += seglen
        if flags & RST:
            closed_by = "rst"
        elif flags & FIN and closed_by is None:
            closed_by = "fin"

        events = sequence_events(pkt, fwd, rev, first_rtt)
        kind = _retrans_kind(events)
        if kind is not None:
            retrans.append(Retransmission(pkt.index, from_client, kind,
                                          (seq - fwd.base_seq) % _MOD, seglen,
                                          events.since_frame, events.since_ns))
        sample = _track_unacked(pkt, fwd, rev, kind is not None)
        if sample is not None:
            rtts.append(RttSample(pkt.index, sample[0], not from_client, now - sample[1]))

        # Wireshark sets the SYN time and iRTT after analysing the packet.
        if flags & (SYN | ACK) == SYN:
            mru_syn = now
        elif flags & (SYN | ACK) == ACK and mru_syn and not first_rtt:
            first_rtt = now - mru_syn
            hs.setdefault("ack", pkt.index)
            hs.setdefault("ack_ts", now)

        scale = fwd.win_scale if not flags & SYN and fwd.win_scale >= 0 else 0
        rel_ack = (ack - rev.base_seq) % _MOD if flags & ACK and rev.base_seq is not None else 0
        segments.append(SegmentAnalysis(pkt.index, from_client, (seq - fwd.base_seq) % _MOD,
                                        rel_ack, seglen, flag_names(flags), win << scale,
                                        tuple(events.names)))

    return TcpAnalysis(
        stream=conn.stream, client=conn.client, client_port=conn.client_port,
        server=conn.server, server_port=conn.server_port,
        client_isn=flows[True].isn, server_isn=flows[False].isn,
        client_mss=flows[True].mss, server_mss=flows[False].mss,
        client_wscale=flows[True].wscale_opt, server_wscale=flows[False].wscale_opt,
        sack_permitted=sack_ok[True] and sack_ok[False],
        timestamps=tstamps[True] and tstamps[False],
        packets=len(conn.packets), client_bytes=totals[True], server_bytes=totals[False],
        first_ts_ns=conn.packets[0].ts_ns if conn.packets else 0,
        last_ts_ns=conn.packets[-1].ts_ns if conn.packets else 0,
        handshake=_handshake(hs, first_rtt), counts=_count(segments),
        closed_by=closed_by, retransmissions=tuple(retrans), rtt_samples=tuple(rtts),
        segments=tuple(segments))


def analyze_capture(packets: list[Packet]) -> list[TcpAnalysis]:
    return [analyze_tcp(conn) for conn in split_connections(packets)]


def _note_syn(pkt: Packet, fwd: Flow, rev: Flow, hs: dict) -> None:
    opts = pkt.options
    fwd.mss, fwd.wscale_opt = opts.mss, opts.wscale
    if fwd.isn is None:
        fwd.isn = pkt.seq
    fwd.win_scale = opts.wscale if opts.wscale is not None else -1
    if pkt.flags & ACK:
        hs.setdefault("synack", pkt.index)
        hs.setdefault("synack_ts", pkt.ts_ns)
        # Scaling applies only if both SYNs offered it (RFC 7323 section 2.2).
        if fwd.win_scale == -1 or rev.win_scale == -1:
            fwd.win_scale = rev.win_scale = -2
    else:
        hs.setdefault("syn", pkt.index)
        hs.setdefault("syn_ts", pkt.ts_ns)


_RETRANS_NAMES = {"retransmission": RetransmissionKind.RTO,
                  "fast_retransmission": RetransmissionKind.FAST,
                  "spurious_retransmission": RetransmissionKind.SPURIOUS}


def _retrans_kind(events: Events) -> RetransmissionKind | None:
    for name in events.names:
        if name in _RETRANS_NAMES:
            return _RETRANS_NAMES[name]
    return None


def _track_unacked(pkt: Packet, fwd: Flow, rev: Flow, resent: bool) -> tuple[int, int] | None:
    """Remember sent segments; return (frame, ts) of one this ACK covers exactly.

    Unlike tshark, segments sent more than once give no sample (Karn's rule):
    which copy the ACK answers is unknowable.
    """
    flags, seglen = pkt.flags, pkt.payload_len
    if seglen or flags & (SYN | FIN):
        nextseq = (pkt.seq + seglen + (1 if flags & (SYN | FIN) else 0)) % _MOD
        entry = fwd.sent.get(nextseq)
        if entry is not None or resent:
            if entry is not None:
                entry[2] = True
        elif len(fwd.sent) < 10_000:  # bounded, like tshark, for captures missing ACKs
            fwd.sent[nextseq] = [pkt.index, pkt.ts_ns, False]
            fwd.unacked.append(nextseq)
    if not flags & ACK:
        return None
    ack, sample = pkt.ack, None
    entry = rev.sent.get(ack)
    if entry is not None and not entry[2]:
        sample = (entry[0], entry[1])
    while rev.unacked and seq_le(rev.unacked[0], ack):
        rev.sent.pop(rev.unacked.popleft(), None)
    if entry is not None:
        rev.sent.pop(ack, None)
    return sample


def _handshake(hs: dict, first_rtt: int) -> Handshake:
    syn, synack, ack = hs.get("syn_ts"), hs.get("synack_ts"), hs.get("ack_ts")
    return Handshake(
        syn_index=hs.get("syn"), synack_index=hs.get("synack"), ack_index=hs.get("ack"),
        syn_ts_ns=syn, rtt_ns=first_rtt or None,
        syn_to_synack_ns=synack - syn if syn is not None and synack is not None else None,
        synack_to_ack_ns=ack - synack if synack is not None and ack is not None else None)


def _count(segments: list[SegmentAnalysis]) -> TcpCounts:
    tally: dict[str, int] = {}
    for seg in segments:
        for name in seg.events:
            tally[name] = tally.get(name, 0) + 1
    rto, fast, spurious = (tally.get(n, 0) for n in
                           ("retransmission", "fast_retransmission", "spurious_retransmission"))
    return TcpCounts(
        retransmissions=rto + fast + spurious, rto_retransmissions=rto,
        fast_retransmissions=fast, spurious_retransmissions=spurious,
        duplicate_acks=tally.get("duplicate_ack", 0), out_of_order=tally.get("out_of_order", 0),
        zero_windows=tally.get("zero_window", 0),
        zero_window_probes=tally.get("zero_window_probe", 0),
        window_updates=tally.get("window_update", 0), window_full=tally.get("window_full", 0),
        keep_alives=tally.get("keep_alive", 0), lost_segments=tally.get("lost_segment", 0),
        acked_unseen=tally.get("ack_lost_segment", 0))
