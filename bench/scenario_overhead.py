"""Scenario wall time against the network time it inherently needs.

Runs a TLS 1.3 scenario (OpenSSL client and server on lan.yaml) over links
with 0, 50 and 100 ms RTT, a few times each, and prints medians of: the wall
time of the whole run; the connection's own time on the wire (first SYN to
last packet, from the capture); the lab's overhead (the difference: set-up,
certificates, capture start, teardown); and the handshake time against the
round-trip count times the RTT.

    sudo .venv/bin/python bench/scenario_overhead.py [--runs N]

Targets (issue 5): overhead under 1.5 s; on the 100 ms link the handshake
time within 5% of round trips x RTT.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from lab.analysis.summary import analyze_file  # noqa: E402
from lab.scenario.loader import load_scenarios  # noqa: E402
from lab.scenario.run import run_scenario  # noqa: E402

SCENARIO = """
name: overhead-{rtt}ms
topology: {topology}
{links}
pki:
  server: {{names: [server.lab]}}
servers:
  web: {{host: server, impl: openssl, port: 443, versions: ["1.3"]}}
clients:
  c1: {{host: client, impl: openssl, server: web, versions: ["1.3"]}}
expect:
  c1: {{handshake: complete}}
"""


def scenario_for(rtt_ms: int, directory: str):
    links = ""
    if rtt_ms:
        links = ("links:\n  - endpoints: [client:eth0, s1]\n"
                 f"    impair: {{delay: {rtt_ms / 2:g}ms}}")
    path = os.path.join(directory, f"overhead-{rtt_ms}.yaml")
    with open(path, "w") as fh:
        fh.write(SCENARIO.format(rtt=rtt_ms, topology=os.path.join(ROOT, "topologies", "lan.yaml"),
                                 links=links))
    return load_scenarios(path)[0]


def one_run(scenario, out: str) -> dict:
    start = time.perf_counter()
    result = run_scenario(scenario, base=out)
    wall = time.perf_counter() - start
    assert result.passed, result.data["expectations"]
    conn = result.data["connections"][0]
    report = next(r for r in analyze_file(os.path.join(result.run_dir, "captures", "client-eth0.pcap"))
                  if r.summary.client_port == conn["tcp"]["client_port"])
    wire = (report.tcp.last_ts_ns - report.tcp.first_ts_ns) / 1e9
    return {"wall": wall, "wire": wire, "hs": conn["tcp"]["handshake_time"],
            "rtts": conn["tcp"]["round_trips"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"TLS 1.3 scenario, median of {args.runs} runs per RTT")
    print(f"{'RTT':>6} {'wall':>8} {'on wire':>8} {'overhead':>9} {'handshake':>10} "
          f"{'RTTs':>5} {'RTTs x RTT':>11} {'ratio':>6}")
    with tempfile.TemporaryDirectory() as tmp:
        for rtt in (0, 50, 100):
            scenario = scenario_for(rtt, tmp)
            runs = [one_run(scenario, os.path.join(tmp, "runs")) for _ in range(args.runs)]
            med = {k: statistics.median(r[k] for r in runs) for k in ("wall", "wire", "hs")}
            rtts = runs[0]["rtts"]
            # The handshake is complete when the client's Finished leaves: 2 RTTs in TLS 1.3.
            ideal = 2 * rtt / 1000
            ratio = f"{med['hs'] / ideal:.3f}" if ideal else "-"
            print(f"{rtt:>4}ms {med['wall']:>7.2f}s {med['wire']:>7.3f}s "
                  f"{med['wall'] - med['wire']:>8.2f}s {med['hs'] * 1000:>8.1f}ms {rtts:>5} "
                  f"{ideal * 1000:>9.0f}ms {ratio:>6}")
    print("targets: overhead < 1.5 s; ratio within 0.95..1.05 on the 100 ms link")


if __name__ == "__main__":
    main()
