"""Lab up+down time: tlslab against raw Mininet building the same graph.

Both run here, in one process, alternating, so machine noise hits both alike.
Raw Mininet runs inside one throwaway namespace (made once, not timed) so it
does not put bridges on the machine; its graph is built the way Mininet's own
examples do (Mininet(topo), start(), stop()), with LinuxBridge and no controller.

    sudo .venv/bin/python bench/lifecycle.py [--runs N]

Target (issue 2): tlslab at most 1.2x raw Mininet, and under 1 s for lan.yaml.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from mininet.log import setLogLevel  # noqa: E402
from mininet.net import Mininet  # noqa: E402
from mininet.nodelib import LinuxBridge  # noqa: E402
from mininet.topo import Topo  # noqa: E402

from lab.config.topology import load_topology  # noqa: E402
from lab.kinds import get_kind  # noqa: E402
from lab.net.lab import Lab  # noqa: E402
from lab.net.procs import NetnsSwitch  # noqa: E402


class SameGraph(Topo):
    """The tlslab topology as a plain Mininet Topo with the same addresses."""

    def build(self, topology):
        for node in topology.nodes:
            if get_kind(node.kind).is_switch:
                self.addSwitch(node.name)
            else:
                self.addHost(node.name, ip=None)
        for link in topology.links:
            params = {}
            for key, end in (("1", link.a), ("2", link.b)):
                node = topology.node(end.node)
                intf = node.interface(end.interface) if end.interface else None
                if intf is not None:
                    params[f"intfName{key}"] = intf.name
                    if intf.address:
                        params[f"params{key}"] = {"ip": intf.address.with_prefixlen}
            self.addLink(link.a.node, link.b.node, **params)


def time_raw(topology) -> float:
    start = time.perf_counter()
    net = Mininet(topo=SameGraph(topology=topology), switch=LinuxBridge, controller=None,
                  waitConnected=False)
    net.start()
    for node in topology.nodes:
        if node.forwarding:
            net[node.name].cmd("sysctl -w net.ipv4.ip_forward=1")
    net.stop()
    return time.perf_counter() - start


def time_tlslab(topology, run_dir: str) -> float:
    start = time.perf_counter()
    with Lab(topology, run_dir=run_dir):
        pass
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    setLogLevel("critical")
    ns = f"tlslab-bench-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    rows = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for name in ("lan", "routed", "wan"):
                topology = load_topology(os.path.join(ROOT, "topologies", f"{name}.yaml"))
                raw, ours = [], []
                for i in range(args.runs):
                    with NetnsSwitch(f"/run/netns/{ns}"):
                        raw.append(time_raw(topology))
                    ours.append(time_tlslab(topology, os.path.join(tmp, f"{name}-{i}")))
                rows.append((name, statistics.median(raw), statistics.median(ours)))
    finally:
        subprocess.run(["ip", "netns", "del", ns])
    print(f"lab up+down, median of {args.runs} runs each")
    print(f"{'topology':<10} {'raw Mininet':>12} {'tlslab':>10} {'ratio':>7}")
    for name, raw, ours in rows:
        print(f"{name:<10} {raw * 1000:>10.0f}ms {ours * 1000:>8.0f}ms {ours / raw:>7.2f}")
    print("target: ratio <= 1.20, and lan under 1000 ms")


if __name__ == "__main__":
    main()
