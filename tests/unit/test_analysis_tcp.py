"""lab.analysis.tcp: connection splitting and tshark-equivalent sequence analysis."""
from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from lab.analysis.pcap import ACK, FIN, SYN, Packet, TcpOptions, read_pcap
from lab.analysis.tcp import (RetransmissionKind, analyze_capture, analyze_tcp,
                              split_connections)

PCAPS = Path(__file__).resolve().parents[1] / "data" / "pcaps"
ALL = sorted(p.name for p in PCAPS.glob("*.pcap*"))
TSHARK = shutil.which("tshark")
needs_tshark = pytest.mark.skipif(TSHARK is None, reason="tshark is not installed")
EVENTS = ["retransmission", "fast_retransmission", "spurious_retransmission", "out_of_order",
          "duplicate_ack", "zero_window", "zero_window_probe", "zero_window_probe_ack",
          "window_update", "window_full", "keep_alive", "keep_alive_ack", "lost_segment",
          "ack_lost_segment"]


def tshark_fields(pcap: Path, *fields: str) -> list[list[str]]:
    argv = [TSHARK, "-r", str(pcap), "-Y", "tcp", "-T", "fields", "-E", "occurrence=f",
            "-o", "tcp.analyze_sequence_numbers:TRUE", "-o", "tcp.relative_sequence_numbers:TRUE"]
    for name in fields:
        argv += ["-e", name]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    return [line.split("\t") for line in out.splitlines()]


def analyses(name: str):
    return analyze_capture(read_pcap(str(PCAPS / name)))


@needs_tshark
@pytest.mark.parametrize("name", ALL)
def test_every_analysis_flag_matches_tshark_frame_by_frame(name):
    rows = tshark_fields(PCAPS / name, "frame.number", *(f"tcp.analysis.{e}" for e in EVENTS))
    theirs = {(int(r[0]), e) for r in rows for e, v in zip(EVENTS, r[1:]) if v}
    # tshark also raises plain "retransmission" on fast and spurious ones.
    for index, event in list(theirs):
        if event in ("fast_retransmission", "spurious_retransmission"):
            theirs.discard((index, "retransmission"))
    ours = {(s.index, e) for a in analyses(name) for s in a.segments for e in s.events}
    assert ours == theirs


@needs_tshark
@pytest.mark.parametrize("name", ALL)
def test_retransmission_and_dup_ack_counts_per_connection_match_tshark(name):
    rows = tshark_fields(PCAPS / name, "tcp.stream", "tcp.analysis.retransmission",
                         "tcp.analysis.duplicate_ack")
    retrans = Counter(int(r[0]) for r in rows if r[1])
    dups = Counter(int(r[0]) for r in rows if r[2])
    for a in analyses(name):
        assert a.counts.retransmissions == retrans[a.stream]
        assert a.counts.duplicate_acks == dups[a.stream]


def test_committed_retransmission_capture_counts():
    """The same numbers tshark 4.0 gives; runs without tshark."""
    first, second = analyses("tcp_retrans.pcap")
    assert (first.counts.retransmissions, first.counts.rto_retransmissions,
            first.counts.fast_retransmissions, first.counts.spurious_retransmissions,
            first.counts.duplicate_acks, first.counts.out_of_order,
            first.counts.zero_windows) == (14, 12, 1, 1, 9, 5, 1)
    assert (second.counts.retransmissions, second.counts.fast_retransmissions,
            second.counts.duplicate_acks) == (7, 4, 12)
    kinds = Counter(r.kind for r in first.retransmissions + second.retransmissions)
    assert kinds == {RetransmissionKind.RTO: 15, RetransmissionKind.FAST: 5,
                     RetransmissionKind.SPURIOUS: 1}


def test_connections_are_split_by_four_tuple():
    conns = split_connections(read_pcap(str(PCAPS / "tcp_retrans.pcap")))
    assert [(c.stream, c.server_port) for c in conns] == [(0, 5001), (1, 5002)]
    assert all(c.client_port not in (5001, 5002) for c in conns)


@needs_tshark
@pytest.mark.parametrize("name", ["tls12_rsa.pcap", "tcp_retrans.pcap"])
def test_isn_relative_numbers_and_scaled_window_match_tshark(name):
    rows = tshark_fields(PCAPS / name, "frame.number", "tcp.seq", "tcp.ack",
                         "tcp.window_size", "tcp.flags.syn", "tcp.flags.ack", "tcp.seq_raw")
    by_frame = {int(r[0]): r for r in rows}
    for a in analyses(name):
        syn = by_frame[a.handshake.syn_index]
        assert a.client_isn == int(syn[6])
        assert a.server_isn == int(by_frame[a.handshake.synack_index][6])
        for seg in a.segments:
            _, seq, ack, window, _, has_ack, _ = by_frame[seg.index]
            assert (seg.rel_seq, seg.window) == (int(seq), int(window))
            assert seg.rel_ack == (int(ack) if has_ack == "1" else 0)


@needs_tshark
@pytest.mark.parametrize("name", ["tls12_rsa.pcap", "tls13.pcap", "tls12_ecdhe.pcap"])
def test_rtt_samples_match_tshark_ack_rtt(name):
    rows = tshark_fields(PCAPS / name, "frame.number", "tcp.analysis.acks_frame",
                         "tcp.analysis.ack_rtt", "tcp.analysis.initial_rtt")
    theirs = {(int(r[0]), int(r[1]), int(Decimal(r[2]) * 10**9)) for r in rows if r[1]}
    (a,) = analyses(name)
    assert {(s.index, s.acked_index, s.rtt_ns) for s in a.rtt_samples} == theirs
    assert a.handshake.rtt_ns == int(Decimal(rows[-1][3]) * 10**9)


def test_handshake_and_options_of_a_tls_connection():
    (a,) = analyses("tls12_rsa.pcap")
    hs = a.handshake
    assert (hs.syn_index, hs.synack_index, hs.ack_index) == (1, 2, 3)
    assert hs.rtt_ns == hs.syn_to_synack_ns + hs.synack_to_ack_ns
    assert (a.client_mss, a.server_mss, a.client_wscale) == (1460, 1460, 10)
    assert a.sack_permitted and a.timestamps and a.closed_by == "fin"
    assert a.rtt_samples and all(s.rtt_ns > 0 for s in a.rtt_samples)


# --- synthetic connections: the rules on their own, no capture needed ---

CLIENT, SERVER = ("10.0.0.1", 40000), ("10.0.0.2", 443)
MS = 1_000_000


def seg(i, ms, from_client, flags, seq, ack, length=0, window=1000, wscale=None):
    src, dst = (CLIENT, SERVER) if from_client else (SERVER, CLIENT)
    opts = TcpOptions(mss=1000, wscale=wscale, sack_permitted=True) if flags & SYN else TcpOptions()
    return Packet(i, ms * MS, src[0], dst[0], src[1], dst[1], flags, seq, ack, window, length,
                  opts, b"\0" * length)


def handshake(c_isn=1000, s_isn=5000):
    return [seg(1, 0, True, SYN, c_isn, 0, wscale=2),
            seg(2, 10, False, SYN | ACK, s_isn, c_isn + 1, wscale=3),
            seg(3, 20, True, ACK, c_isn + 1, s_isn + 1)]


def test_fast_rto_and_spurious_retransmissions_are_told_apart():
    c, s = 1001, 5001
    pkts = handshake() + [
        seg(4, 30, True, ACK, c, s, 100),          # 1: lost later
        seg(5, 31, True, ACK, c + 100, s, 100),
        seg(6, 32, True, ACK, c + 200, s, 100),
        seg(7, 33, True, ACK, c + 300, s, 100),
        seg(8, 41, False, ACK, s, c),              # repeats the SYN-ACK's ACK: 3 dup ACKs
        seg(9, 42, False, ACK, s, c),
        seg(10, 43, False, ACK, s, c),
        seg(11, 45, True, ACK, c, s, 100),         # within 20 ms of the last dup: fast
        seg(12, 55, False, ACK, s, c + 400),
        seg(13, 400, True, ACK, c + 300, s, 100),  # already ACKed: spurious
        seg(14, 401, True, ACK, c + 400, s, 100),
        seg(15, 900, True, ACK, c + 400, s, 100),  # long after, not ACKed: RTO
    ]
    (a,) = analyze_capture(pkts)
    assert [(r.index, r.kind) for r in a.retransmissions] == [
        (11, RetransmissionKind.FAST), (13, RetransmissionKind.SPURIOUS),
        (15, RetransmissionKind.RTO)]
    assert a.counts.duplicate_acks == 3
    rto = a.retransmissions[-1]
    assert (rto.since_index, rto.delay_ns) == (14, 499 * MS)


def test_out_of_order_is_a_late_segment_within_one_rtt():
    c, s = 1001, 5001
    pkts = handshake() + [seg(4, 30, True, ACK, c + 100, s, 100),
                          seg(5, 30.001, True, ACK, c, s, 100)]
    (a,) = analyze_capture(pkts)
    assert a.segments[-1].events == ("out_of_order",)
    assert a.segments[-2].events == ("lost_segment",)


def test_zero_window_and_window_scaling():
    c, s = 1001, 5001
    pkts = handshake() + [seg(4, 30, False, ACK, s, c, window=0),
                          seg(5, 31, False, ACK, s, c, window=10)]
    (a,) = analyze_capture(pkts)
    assert a.counts.zero_windows == 1 and a.counts.window_updates == 1
    assert a.segments[-1].window == 10 << 3  # the server offered wscale 3
    assert a.segments[0].window == 1000      # SYN windows are never scaled


def test_port_reuse_with_a_new_isn_starts_a_new_connection():
    again = [seg(i + 10, 1000 + p.ts_ns / MS, True if i != 1 else False, p.flags,
                 p.seq + 77777, p.ack + 77777 if p.ack else 0) for i, p in enumerate(handshake())]
    resent_syn = seg(4, 25, True, SYN, 1000, 0, wscale=2)
    conns = split_connections(handshake() + [resent_syn] + again)
    assert [len(c.packets) for c in conns] == [4, 3]
    assert analyze_tcp(conns[0]).retransmissions[0].index == 4


def test_fin_counts_as_one_sequence_number():
    c, s = 1001, 5001
    pkts = handshake() + [seg(4, 30, True, FIN | ACK, c, s),
                          seg(5, 31, False, FIN | ACK, s, c + 1),
                          seg(6, 32, True, ACK, c + 1, s + 1)]
    (a,) = analyze_capture(pkts)
    assert a.closed_by == "fin" and a.counts.retransmissions == 0
    assert [s.rel_ack for s in a.segments[-2:]] == [2, 2]
