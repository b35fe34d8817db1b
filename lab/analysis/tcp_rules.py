"""Wireshark's TCP sequence analysis, rule for rule.

sequence_events() is tcp_analyze_sequence_number() from Wireshark 4.0's
packet-tcp.c without the unacked-segment list: the same checks in the same
order on the same per-direction state (tshark's tcp_flow_t field names), so
the flags it raises equal tshark's tcp.analysis.* on the same capture. Its
quirks are kept on purpose; the comments say where.
"""
from __future__ import annotations

from collections import deque

from lab.analysis.pcap import ACK, FIN, RST, SYN, Packet

_MOD = 1 << 32
_FAST_RETRANS_WINDOW_NS = 20_000_000   # retransmit within 20 ms of the last dup ACK
_DEFAULT_OOO_THRESHOLD_NS = 3_000_000  # used until the handshake RTT is known


def seq_lt(a: int, b: int) -> bool:
    """a < b in 32-bit sequence space (RFC 1982 serial arithmetic)."""
    return 0 < (b - a) % _MOD < 0x80000000


def seq_le(a: int, b: int) -> bool:
    return a == b or seq_lt(a, b)


class Flow:
    """One direction's state, named after tshark's tcp_flow_t fields."""

    __slots__ = ("base_seq", "isn", "nextseq", "nextseqtime", "nextseqframe", "lastack",
                 "lastacktime", "window", "win_scale", "dupacknum", "lastnondupack",
                 "lastsegmentflags", "maxseqtobeacked", "unacked", "sent", "mss", "wscale_opt")

    def __init__(self) -> None:
        self.base_seq: int | None = None
        self.isn: int | None = None
        self.nextseq = 0  # 0 means "not known yet", as in tshark
        self.nextseqtime = self.nextseqframe = 0
        self.lastack = self.lastacktime = 0
        self.window = 0xFFFFFFFF  # never equal to a real window
        self.win_scale = -1  # -1 unknown, -2 no scaling
        self.dupacknum = self.lastnondupack = 0
        self.lastsegmentflags: frozenset[str] = frozenset()
        self.maxseqtobeacked = 0
        # Not tshark's: what tcp.py needs for RTT samples and the summary.
        self.unacked: deque[int] = deque()          # nextseq values, send order
        self.sent: dict[int, list] = {}              # nextseq -> [frame, ts, retransmitted]
        self.mss: int | None = None
        self.wscale_opt: int | None = None


class Events:
    __slots__ = ("names", "since_frame", "since_ns")

    def __init__(self) -> None:
        self.names: list[str] = []
        self.since_frame = self.since_ns = 0


def sequence_events(pkt: Packet, fwd: Flow, rev: Flow, first_rtt: int) -> Events:
    """tcp_analyze_sequence_number(), minus the unacked-segment list."""
    ev = Events()
    add = ev.names.append
    flags, seq, ack, seglen, window, now = (pkt.flags, pkt.seq, pkt.ack, pkt.payload_len,
                                            pkt.window, pkt.ts_ns)
    plain = not flags & (SYN | FIN | RST)

    if fwd.base_seq is None:
        fwd.base_seq = seq if flags & SYN else (seq - 1) % _MOD
    if rev.base_seq is None and flags & ACK:
        rev.base_seq = (ack - 1) % _MOD

    while True:  # a block to break out of, like tshark's "goto finished_fwd"
        if seglen == 1 and seq == fwd.nextseq and rev.window == 0:
            add("zero_window_probe")
            break
        if window == 0 and plain:
            add("zero_window")
        if fwd.nextseq and seq_lt(fwd.nextseq, seq) and not flags & RST:
            add("lost_segment")
        if seglen <= 1 and seq == (fwd.nextseq - 1) % _MOD and plain:
            add("keep_alive")
        same_point = seglen == 0 and seq == fwd.nextseq and ack == fwd.lastack and plain
        if same_point and window and window != fwd.window:
            add("window_update")
        edge = (rev.lastack + (rev.window << max(rev.win_scale, 0))) % _MOD
        if seglen > 0 and rev.win_scale != -1 and plain and (seq + seglen) % _MOD == edge:
            add("window_full")
        if same_point and window and window == fwd.window and "keep_alive" in rev.lastsegmentflags:
            add("keep_alive_ack")
            break
        if (same_point and window == 0 and fwd.window == 0
                and "zero_window_probe" in rev.lastsegmentflags):
            add("zero_window_probe_ack")
            break
        if same_point and window and window == fwd.window:
            fwd.dupacknum += 1
            add("duplicate_ack")
        break

    if ack != fwd.lastack:
        fwd.lastnondupack, fwd.dupacknum = pkt.index, 0

    if rev.maxseqtobeacked and seq_lt(rev.maxseqtobeacked, ack) and flags & ACK:
        add("ack_lost_segment")
        rev.maxseqtobeacked = rev.nextseq

    if (seglen > 0 or flags & (SYN | FIN)) and "keep_alive" not in ev.names:
        _classify_retransmission(ev, pkt, fwd, rev, first_rtt)

    nextseq = (seq + seglen + (1 if flags & (SYN | FIN) else 0)) % _MOD
    probe = "zero_window_probe" in ev.names
    # tshark stores seq+seglen+SYN/FIN here but compares seq+seglen above.
    if (not fwd.nextseq or seq_lt(fwd.nextseq, nextseq)) and not probe:
        fwd.nextseq, fwd.nextseqframe, fwd.nextseqtime = nextseq, pkt.index, now
    if (seq == fwd.maxseqtobeacked or not fwd.maxseqtobeacked) and not probe:
        fwd.maxseqtobeacked = fwd.nextseq
    fwd.window, fwd.lastack, fwd.lastacktime = window, ack, now
    fwd.lastsegmentflags = frozenset(ev.names)
    return ev


def _classify_retransmission(ev: Events, pkt: Packet, fwd: Flow, rev: Flow,
                             first_rtt: int) -> None:
    seq, seglen, now = pkt.seq, pkt.payload_len, pkt.ts_ns
    not_advanced = bool(fwd.nextseq) and seq_lt(seq, fwd.nextseq)
    # More than one byte starting one before nextseq adds new data (it follows
    # a possible zero-window probe), so it is not a retransmission.
    if seglen > 1 and (fwd.nextseq - 1) % _MOD == seq:
        not_advanced = False
    # Data the receiver already ACKed: checked first, as Wireshark 4.0 does.
    if seglen > 0 and rev.lastack and seq_le((seq + seglen) % _MOD, rev.lastack):
        ev.names.append("spurious_retransmission")
        return
    if (not_advanced and rev.dupacknum >= 2 and rev.lastack == seq
            and now - rev.lastacktime < _FAST_RETRANS_WINDOW_NS):
        ev.names.append("fast_retransmission")
        return
    # Soon after the highest segment and not an exact resend: reordering.
    threshold = first_rtt or _DEFAULT_OOO_THRESHOLD_NS
    # SYN and FIN count as one sequence number here: a repeated SYN-ACK is a
    # retransmission to tshark 4.0, not reordering.
    syn_fin = 1 if pkt.flags & (SYN | FIN) else 0
    if (not_advanced and now - fwd.nextseqtime < threshold
            and fwd.nextseq != (seq + seglen + syn_fin) % _MOD):
        ev.names.append("out_of_order")
        return
    if not_advanced:
        ev.names.append("retransmission")
        ev.since_frame, ev.since_ns = fwd.nextseqframe, now - fwd.nextseqtime
