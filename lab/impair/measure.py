"""Measuring a link between two hosts, and checking it against its configuration.

RTT and loss come from the UDP prober (lab.impair.probe; kernel timestamps,
per-probe sequence numbers) or from ping; throughput from iperf3 -J. The
results are frozen dataclasses, and `compare` is a pure function from
configured impairments and measurements to pass/fail checks.
"""
from __future__ import annotations

import json
import math
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from statistics import NormalDist

from lab.errors import LabFailure
from lab.impair.params import Impairment
from lab.net.runner import HostRunner

PROBE_PORT = 7777
IPERF_PORT = 5201


@dataclass(frozen=True)
class ProbeRun:
    """One probe per slot; None where no reply came back."""

    interval: float
    rtt_ns: tuple[int | None, ...]

    @property
    def lost(self) -> tuple[int, ...]:
        return tuple(i for i, rtt in enumerate(self.rtt_ns) if rtt is None)


@dataclass(frozen=True)
class RttResult:
    sent: int
    received: int
    median_ms: float
    p99_ms: float
    min_ms: float
    max_ms: float


@dataclass(frozen=True)
class LossResult:
    sent: int
    lost: int
    confidence: float
    low: float    # interval bounds for the loss rate, 0..1
    high: float

    @property
    def rate(self) -> float:
        return self.lost / self.sent if self.sent else 0.0


@dataclass(frozen=True)
class ThroughputResult:
    seconds: float
    received_bps: float
    sent_bps: float
    retransmits: int


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of an already sorted list."""
    if not sorted_values:
        raise ValueError("no values")
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def rtt_stats(samples_ms: list[float], sent: int) -> RttResult:
    if not samples_ms:
        raise LabFailure(f"no replies to {sent} probes; the link is down or blocks them")
    v = sorted(samples_ms)
    return RttResult(sent, len(v), statistics.median(v), percentile(v, 99), v[0], v[-1])


def wilson_interval(lost: int, sent: int, confidence: float = 0.99) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (good also near 0 and 1)."""
    if sent <= 0:
        return 0.0, 1.0
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = lost / sent
    centre = (p + z * z / (2 * sent)) / (1 + z * z / sent)
    half = z / (1 + z * z / sent) * math.sqrt(p * (1 - p) / sent + z * z / (4 * sent * sent))
    return max(0.0, centre - half), min(1.0, centre + half)


def loss_stats(run: ProbeRun, confidence: float = 0.99) -> LossResult:
    lost, sent = len(run.lost), len(run.rtt_ns)
    return LossResult(sent, lost, confidence, *wilson_interval(lost, sent, confidence))


def probe(src: HostRunner, dst: HostRunner, dst_ip: str, *, count: int = 2000,
          interval: float = 0.002, wait: float = 1.0, port: int = PROBE_PORT,
          python: str = sys.executable) -> ProbeRun:
    """Send `count` UDP probes from src to an echo server started on dst."""
    server = dst.popen([python, "-m", "lab.impair.probe", "echo", "--bind", dst_ip,
                        "--port", str(port)],
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)
    try:
        time.sleep(0.3)  # the echo server binds before the first probe leaves
        if server.poll() is not None:
            raise LabFailure(f"probe echo server on {dst.name} exited: "
                             f"{server.stderr.read().decode(errors='replace').strip()}")
        timeout = count * interval + wait + 30
        done = src.run([python, "-m", "lab.impair.probe", "send", "--dst", dst_ip,
                        "--port", str(port), "--count", str(count),
                        "--interval", str(interval), "--wait", str(wait)], timeout=timeout)
        if done.returncode != 0:
            raise LabFailure(f"prober on {src.name} failed: "
                             f"{done.stderr.decode(errors='replace').strip()}")
        data = json.loads(done.stdout)
        return ProbeRun(interval, tuple(data["rtt_ns"]))
    finally:
        server.terminate()
        server.wait()
        server.stderr.close()


def measure_rtt(src: HostRunner, dst: HostRunner, dst_ip: str, **kwargs) -> RttResult:
    run = probe(src, dst, dst_ip, **kwargs)
    return rtt_stats([r / 1e6 for r in run.rtt_ns if r is not None], len(run.rtt_ns))


def measure_loss(src: HostRunner, dst: HostRunner, dst_ip: str, confidence: float = 0.99,
                 **kwargs) -> LossResult:
    return loss_stats(probe(src, dst, dst_ip, **kwargs), confidence)


_PING_TIME = re.compile(rb"time=([\d.]+) ms")


def ping_rtt(src: HostRunner, dst_ip: str, count: int = 200, interval: float = 0.01) -> RttResult:
    """RTT with ping (the kernel answers, nothing needed on the far host)."""
    done = src.run(["ping", "-n", "-c", str(count), "-i", str(interval), "-W", "2", dst_ip],
                   timeout=count * interval + 30)
    samples = [float(m) for m in _PING_TIME.findall(done.stdout)]
    return rtt_stats(samples, count)


def measure_throughput(src: HostRunner, dst: HostRunner, dst_ip: str, *, seconds: float = 5,
                       omit: float = 1, port: int = IPERF_PORT,
                       reverse: bool = False) -> ThroughputResult:
    """TCP throughput src -> dst (dst -> src with reverse) with iperf3."""
    server = dst.popen(["iperf3", "-s", "-1", "-B", dst_ip, "-p", str(port)],
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    try:
        argv = ["iperf3", "-c", dst_ip, "-p", str(port), "-t", str(seconds), "-O", str(omit),
                "-J"] + (["-R"] if reverse else [])
        for _attempt in range(50):  # until the server listens
            done = src.run(argv, timeout=seconds + omit + 30)
            report = json.loads(done.stdout or b"{}")
            if "refused" not in report.get("error", ""):
                break
            time.sleep(0.1)
        if "error" in report or done.returncode != 0:
            raise LabFailure(f"iperf3 from {src.name} failed: "
                             f"{report.get('error') or done.stderr.decode(errors='replace')}")
        end = report["end"]
        return ThroughputResult(seconds, end["sum_received"]["bits_per_second"],
                                end["sum_sent"]["bits_per_second"],
                                end["sum_sent"].get("retransmits", 0))
    finally:
        if server.poll() is None:
            server.terminate()
        server.wait()


@dataclass(frozen=True)
class Tolerances:
    delay_abs_ms: float = 1.0
    delay_rel: float = 0.02
    rate_rel: float = 0.10


@dataclass(frozen=True)
class Check:
    name: str
    configured: float
    measured: float
    low: float
    high: float

    @property
    def passed(self) -> bool:
        return self.low <= self.measured <= self.high

    def __str__(self) -> str:
        verdict = "ok" if self.passed else "FAIL"
        return (f"{self.name}: configured {self.configured:g}, measured {self.measured:g} "
                f"(accepted {self.low:g}..{self.high:g}) {verdict}")


def _delivered(imp: Impairment) -> float:
    """Chance a frame gets through intact: a duplicate survives a loss, corruption fails
    the checksum at the receiver."""
    return (1 - imp.loss / 100 * (1 - imp.duplicate / 100)) * (1 - imp.corrupt / 100)


def compare(ab: Impairment, ba: Impairment, *, rtt: RttResult | None = None,
            loss: LossResult | None = None, throughput: ThroughputResult | None = None,
            base_rtt_ms: float = 0.0, tol: Tolerances = Tolerances()) -> tuple[Check, ...]:
    """Configured (a->b, b->a) vs measured from a: RTT median, round-trip loss within the
    measured confidence interval, and a->b throughput against a->b's rate."""
    checks = []
    if rtt is not None:
        want = (ab.delay_ns + ba.delay_ns) / 1e6 + base_rtt_ms
        slack = max(tol.delay_abs_ms, tol.delay_rel * want)
        checks.append(Check("rtt_ms", want, rtt.median_ms, want - slack, want + slack))
    if loss is not None:
        # Score test: the same as "configured lies in the measured Wilson interval",
        # written as bounds on the measured rate (zero loss must measure zero).
        want = 1 - _delivered(ab) * _delivered(ba)
        z = NormalDist().inv_cdf(0.5 + loss.confidence / 2)
        half = z * math.sqrt(want * (1 - want) / max(1, loss.sent))
        checks.append(Check("loss", want, loss.rate, want - half, want + half))
    if throughput is not None and ab.rate:
        slack = tol.rate_rel * ab.rate
        checks.append(Check("throughput_bps", ab.rate, throughput.received_bps,
                            ab.rate - slack, ab.rate + slack))
    return tuple(checks)
