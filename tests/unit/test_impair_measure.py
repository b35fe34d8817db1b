"""Statistics and configured-vs-measured checks, with fake runners (no network)."""
import json
import subprocess

import pytest

from lab.errors import LabFailure
from lab.impair import measure
from lab.impair.measure import (LossResult, ProbeRun, RttResult, ThroughputResult, compare,
                                loss_stats, percentile, rtt_stats, wilson_interval)
from lab.impair.params import Impairment

MS = 1_000_000


class FakeRunner:
    """Answers run() with canned output; popen() starts a harmless sleeper."""

    name = "fake"

    def __init__(self, stdout: bytes, returncode: int = 0):
        self.stdout, self.returncode, self.argv = stdout, returncode, []

    def run(self, argv, **kwargs):
        self.argv.append(list(argv))
        return subprocess.CompletedProcess(argv, self.returncode, self.stdout, b"")

    def popen(self, argv, **kwargs):
        return subprocess.Popen(["sleep", "5"], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_percentile_nearest_rank():
    values = list(range(1, 101))
    assert percentile(values, 99) == 99 and percentile(values, 100) == 100
    assert percentile(values, 50) == 50 and percentile([7], 99) == 7


def test_wilson_interval():
    low, high = wilson_interval(100, 2000, 0.99)
    assert low < 0.05 < high and high - low < 0.035
    assert wilson_interval(0, 2000)[0] == 0 and wilson_interval(0, 2000)[1] < 0.004
    assert wilson_interval(2000, 2000)[1] == 1
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_rtt_and_loss_stats():
    run = ProbeRun(0.01, (20 * MS, None, 21 * MS, 22 * MS, None))
    assert run.lost == (1, 4)
    rtt = rtt_stats([r / MS for r in run.rtt_ns if r], 5)
    assert (rtt.sent, rtt.received, rtt.median_ms, rtt.max_ms) == (5, 3, 21, 22)
    loss = loss_stats(run)
    assert (loss.sent, loss.lost, loss.rate) == (5, 2, 0.4)
    with pytest.raises(LabFailure, match="no replies"):
        rtt_stats([], 10)


def test_compare_rtt_tolerance_is_max_of_1ms_and_2_percent():
    ab = ba = Impairment(delay_ns=10 * MS)
    assert compare(ab, ba, rtt=RttResult(100, 100, 20.9, 21, 20, 22))[0].passed
    assert not compare(ab, ba, rtt=RttResult(100, 100, 21.2, 22, 20, 22))[0].passed
    slow = Impairment(delay_ns=200 * MS)
    check, = compare(slow, slow, rtt=RttResult(100, 100, 407.0, 410, 400, 410))
    assert check.passed and check.high == pytest.approx(408)
    assert "accepted" in str(check) and str(check).endswith("ok")


def test_compare_loss_uses_the_binomial_interval():
    five = Impairment(loss=5.0)
    ok = LossResult(2000, 110, 0.99, *wilson_interval(110, 2000))
    bad = LossResult(2000, 160, 0.99, *wilson_interval(160, 2000))
    assert compare(five, Impairment(), loss=ok)[0].passed
    assert not compare(five, Impairment(), loss=bad)[0].passed
    # Both directions: 1 - 0.95 * 0.95 = 9.75 % round trip.
    both, = compare(five, five, loss=LossResult(2000, 195, 0.99, 0, 1))
    assert both.configured == pytest.approx(0.0975) and both.passed
    # Zero loss configured: a single lost probe fails.
    assert compare(Impairment(), Impairment(), loss=LossResult(2000, 0, 0.99, 0, 0))[0].passed
    assert not compare(Impairment(), Impairment(), loss=LossResult(2000, 1, 0.99, 0, 0))[0].passed


def test_compare_throughput_within_10_percent():
    rated = Impairment(rate=10_000_000)
    assert compare(rated, Impairment(), throughput=ThroughputResult(5, 9.56e6, 9.6e6, 0))[0].passed
    assert not compare(rated, Impairment(),
                       throughput=ThroughputResult(5, 8.5e6, 9e6, 0))[0].passed
    assert compare(Impairment(), Impairment(), throughput=ThroughputResult(5, 1e9, 1e9, 0)) == ()


def test_ping_rtt_parses_per_packet_times():
    out = b"".join(b"64 bytes from 10.0.0.2: icmp_seq=%d ttl=64 time=%s ms\n" % (i, t)
                   for i, t in enumerate([b"20.1", b"20.3", b"120", b"20.2"]))
    runner = FakeRunner(out)
    rtt = measure.ping_rtt(runner, "10.0.0.2", count=5, interval=0.01)
    assert (rtt.sent, rtt.received, rtt.median_ms, rtt.max_ms) == (5, 4, 20.25, 120)
    assert runner.argv[0][:2] == ["ping", "-n"]


def test_throughput_reads_iperf3_json():
    report = {"end": {"sum_received": {"bits_per_second": 9.5e6},
                      "sum_sent": {"bits_per_second": 9.7e6, "retransmits": 3}}}
    client = FakeRunner(json.dumps(report).encode())
    result = measure.measure_throughput(client, FakeRunner(b""), "10.0.0.2", seconds=2)
    assert result == ThroughputResult(2, 9.5e6, 9.7e6, 3)
    assert "-J" in client.argv[0]


def test_throughput_reports_iperf3_errors():
    client = FakeRunner(json.dumps({"error": "unable to send control message"}).encode(), 1)
    with pytest.raises(LabFailure, match="unable to send"):
        measure.measure_throughput(client, FakeRunner(b""), "10.0.0.2", seconds=1)
