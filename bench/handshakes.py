"""TLS handshakes per second, lab link against loopback, for every client/server pair.

    sudo .venv/bin/python bench/handshakes.py [--reps 5] [--connections 8] [--pairs PATTERN]

Each pair runs TLS 1.3 (variant tls13: full handshake, one request, one
reply, close) twice per repetition, alternating so machine noise hits both
alike: over topologies/lan.yaml (client on `client`, server on `server`, a
zero-delay link through the lab's bridge, every process started through
mnexec) and over 127.0.0.1 outside any lab. A rate is connections divided by
the time the client run took; each client run is one process for the agents
(python, tlslite, scapy) and one tool process per connection for openssl and
gnutls, exactly as in the interop matrix, so the figures include that start-up.

Target (issue 4): the lab costs at most 10%, i.e. lab/loopback >= 0.90.
"""
from __future__ import annotations

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The package comes from the repository root; this script's own directory
# goes, so a sibling bench script cannot shadow a standard module (inspect).
sys.path[0] = ROOT

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

from lab.config.topology import load_topology  # noqa: E402
from lab.net.lab import Lab  # noqa: E402
from lab.net.runner import LocalRunner  # noqa: E402
from lab.tls import registry, variant  # noqa: E402
from lab.tls.interop_lab import issue_pki, server_name  # noqa: E402

LAB_PORT, LOOPBACK_PORT = 21000, 22000
# scapy polls for the server's reply every 0.3 s, so each of its connections
# takes about that long; fewer of them keep the run short without changing its rate.
SLOW_CLIENTS = {"scapy": 3}


def rate(impl, runner, spec, log_dir: str, timeout: float = 10.0) -> float | None:
    """Connections per second of one client run; None if any connection failed."""
    start = time.perf_counter()
    outcomes = impl.run_client(runner, spec, log_dir, timeout)
    elapsed = time.perf_counter() - start
    if len(outcomes) != spec.connections or not all(o.connected and o.bytes_received for o in outcomes):
        return None
    return spec.connections / elapsed


def bench_pair(client: str, server: str, lab, local, pki, work: str, reps: int, n: int, index: int):
    v = variant("tls13")
    n = SLOW_CLIENTS.get(client, n)
    ends = {"lab": (lab.host("server"), lab.host("client"), lab.host("server").address, LAB_PORT + index),
            "loopback": (local, local, "127.0.0.1", LOOPBACK_PORT + index)}
    handles, specs = {}, {}
    try:
        for where, (srv_runner, _, address, port) in ends.items():
            s, c = v.specs(port=port, cert=pki.creds.cert, key=pki.creds.key, ca=pki.creds.ca,
                           address=address, sni=server_name("server"))
            specs[where] = dataclasses.replace(c, connections=n)
            handles[where] = registry.get(server).start_server(srv_runner, s, os.path.join(work, where))
            handles[where].wait_ready()
        impl = registry.get(client)
        rates = {"lab": [], "loopback": []}
        for rep in range(reps):
            for where in (("lab", "loopback") if rep % 2 == 0 else ("loopback", "lab")):
                _, cli_runner, _, _ = ends[where]
                rates[where].append(rate(impl, cli_runner, specs[where],
                                         os.path.join(work, f"{client}-{server}-{where}")))
    finally:
        for h in handles.values():
            h.stop()
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--connections", type=int, default=8, help="per client run (scapy: 3)")
    parser.add_argument("--pairs", help="only pairs whose 'client-server' contains this")
    args = parser.parse_args()
    clients, servers = registry.with_role("client"), registry.with_role("server")
    pairs = [(c, s) for c in clients for s in servers if not args.pairs or args.pairs in f"{c}-{s}"]
    topology = load_topology(os.path.join(ROOT, "topologies", "lan.yaml"))
    started = time.perf_counter()
    rows = []
    local = LocalRunner(name="loopback")
    with tempfile.TemporaryDirectory() as work:
        pki = issue_pki(os.path.join(work, "certs"), server_name("server"), "10.0.0.2", [])
        try:
            with Lab(topology, run_dir=os.path.join(work, "run")) as lab:
                for i, (client, server) in enumerate(pairs):
                    rates = bench_pair(client, server, lab, local, pki, work, args.reps,
                                       args.connections, i)
                    rows.append((client, server, rates))
        finally:
            local.close()
    print(f"TLS 1.3 connections per second, median of {args.reps} runs each "
          f"({args.connections} connections per run, scapy {SLOW_CLIENTS['scapy']}); "
          f"lab = topologies/lan.yaml client -> server")
    print(f"{'client':<8} {'server':<8} {'lab':>8} {'loopback':>9} {'lab/loopback':>13}")
    ratios = []
    for client, server, rates in rows:
        if any(r is None for r in rates["lab"] + rates["loopback"]):
            print(f"{client:<8} {server:<8} {'a connection failed; see the logs':>31}")
            continue
        lab_rate, lo_rate = statistics.median(rates["lab"]), statistics.median(rates["loopback"])
        ratios.append(lab_rate / lo_rate)
        print(f"{client:<8} {server:<8} {lab_rate:>8.2f} {lo_rate:>9.2f} {ratios[-1]:>13.3f}")
    if ratios:
        print(f"median lab/loopback {statistics.median(ratios):.3f} (worst {min(ratios):.3f}, "
              f"best {max(ratios):.3f}) over {len(ratios)} pairs; {time.perf_counter() - started:.0f} s")
    print("target: lab/loopback >= 0.90 (the lab costs at most 10%)")


if __name__ == "__main__":
    main()
