"""Impairment fidelity and relay throughput, on bare namespaces (needs root).

    sudo .venv/bin/python bench/impairment.py [--reps 3] [--seconds 5] [--probes 2000]

Prints configured vs measured for delay 10/50/200 ms each way (UDP prober
with kernel timestamps: RTT median, and the RTT error median/p99), loss 5%
and 20% one way (with the 99% Wilson interval), rate limits, and iperf3 TCP
throughput through the relay with 10 ms each way against a plain veth pair
measured in the same run (medians over --reps runs).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from lab.impair import measure  # noqa: E402
from lab.impair.control import problems  # noqa: E402
from lab.impair.params import Impairment  # noqa: E402
from lab.impair.testbed import relay_testbed  # noqa: E402

MS = 1_000_000


def delay_row(workdir: str, delay_ms: int, probes: int) -> str:
    imp = Impairment(delay_ns=delay_ms * MS)
    with relay_testbed(workdir, impair=(imp, imp)) as bed:
        run = measure.probe(bed.a, bed.b, bed.b_ip, count=probes, interval=0.002, wait=0.5)
    rtts = sorted(r / 1e6 for r in run.rtt_ns if r is not None)
    errors = [r - 2 * delay_ms for r in rtts]
    check, = measure.compare(imp, imp, rtt=measure.rtt_stats(rtts, probes))
    return (f"delay {delay_ms:>3} ms each way | RTT want {2 * delay_ms:>6.2f} ms, median "
            f"{statistics.median(rtts):8.3f} ms | RTT error median "
            f"{statistics.median(errors):6.3f} ms, p99 {measure.percentile(errors, 99):6.3f} ms"
            f" | {'ok' if check.passed else 'FAIL'}")


def loss_row(workdir: str, pct: float, probes: int) -> str:
    imp = (Impairment(loss=pct), Impairment())
    with relay_testbed(workdir, impair=imp, seed=1) as bed:
        loss = measure.measure_loss(bed.a, bed.b, bed.b_ip, count=probes, interval=0.002,
                                    wait=0.5)
    check, = measure.compare(*imp, loss=loss)
    return (f"loss {pct:>4g}% one way      | measured {100 * loss.rate:6.2f}% of {loss.sent}, "
            f"99% interval {100 * loss.low:5.2f}..{100 * loss.high:5.2f}% | "
            f"{'ok' if check.passed else 'FAIL'}")


def throughput(workdir: str, reps: int, seconds: float, relay: bool = True,
               imp: Impairment = Impairment(), faults=()) -> float:
    """Median receiver bit/s over reps iperf3 runs."""
    results = []
    for _ in range(reps):
        with relay_testbed(workdir, impair=(imp, imp), relay=relay, faults=faults) as bed:
            results.append(measure.measure_throughput(bed.a, bed.b, bed.b_ip,
                                                      seconds=seconds).received_bps)
        for line in problems(bed.stats):
            print(f"  note: {line}")
    return statistics.median(results)


def rate_row(workdir: str, rate_mbit: int, seconds: float) -> str:
    imp = (Impairment(rate=rate_mbit * 1_000_000), Impairment())
    with relay_testbed(workdir, impair=imp) as bed:
        result = measure.measure_throughput(bed.a, bed.b, bed.b_ip, seconds=seconds)
    check, = measure.compare(*imp, throughput=result)
    return (f"rate {rate_mbit:>4} mbit        | TCP goodput {result.received_bps / 1e6:8.2f} "
            f"Mbit/s ({100 * result.received_bps / imp[0].rate:5.1f}% of configured) | "
            f"{'ok' if check.passed else 'FAIL'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--probes", type=int, default=2000)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench/impairment.py needs root (network namespaces)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="tlslab-bench-") as workdir:
        print("== fidelity (UDP prober, 2 ms interval; RTT error = RTT - 2 x delay)")
        for delay_ms in (10, 50, 200):
            print(delay_row(workdir, delay_ms, args.probes))
        for pct in (5, 20):
            print(loss_row(workdir, pct, args.probes))
        for rate in (10, 100):
            print(rate_row(workdir, rate, args.seconds))
        print(f"== throughput (iperf3 TCP, {args.seconds:g} s, median of {args.reps})")
        plain = throughput(workdir, args.reps, args.seconds, relay=False)
        fast = throughput(workdir, args.reps, args.seconds, imp=Impairment(delay_ns=10 * MS))
        # A fault that never fires still makes the relay parse every frame.
        slow = throughput(workdir, args.reps, args.seconds, imp=Impairment(delay_ns=10 * MS),
                          faults=[{"drop": {"match": {"dport": 9}}}])
        print(f"plain veth                   {plain / 1e6:9.1f} Mbit/s")
        print(f"relay, 10 ms each way        {fast / 1e6:9.1f} Mbit/s  "
              f"({100 * fast / plain:.1f}% of plain veth)")
        print(f"relay, 10 ms + a fault rule  {slow / 1e6:9.1f} Mbit/s  "
              f"({100 * slow / plain:.1f}% of plain veth)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
