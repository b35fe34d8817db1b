"""`tlslab inspect --json` against `tshark -T json` on one 100,000-packet capture.

The capture is made here, in a lab: iperf3 sends a bulk transfer from client
to server on topologies/lan.yaml while lab.net.capture records the client's
interface; editcap keeps the first 100,000 packets. Both tools then read the
same file, alternating, each as a fresh process writing its JSON to
/dev/null, so interpreter start-up counts for tlslab as tshark's for tshark.

    sudo .venv/bin/python bench/inspect_speed.py [--runs N] [--keep DIR]

Target (issue 7): tlslab no slower than tshark (ratio tshark/tlslab >= 1).
"""
from __future__ import annotations

import os
import sys

# This file is named like the stdlib's inspect module, which dataclasses
# imports: take its directory off the path before anything imports it.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

import argparse  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from lab.config.topology import load_topology  # noqa: E402
from lab.net.capture import HostCaptures  # noqa: E402
from lab.net.lab import Lab  # noqa: E402

PACKETS = 100_000
# What `tlslab inspect --json PCAP` runs, without depending on the CLI wiring.
RUNNER = """
import argparse, sys
from lab.cli import inspect_cmd
from lab.cli.main import Environment
parser = argparse.ArgumentParser()
inspect_cmd.register(parser.add_subparsers())
args = parser.parse_args(["inspect", sys.argv[1], "--json"])
sys.exit(args.run(args, Environment()))
"""


def make_capture(tmp: str, size: str) -> str:
    """A bulk transfer's client-side capture, cut to PACKETS packets."""
    topology = load_topology(os.path.join(ROOT, "topologies", "lan.yaml"))
    run_dir = os.path.join(tmp, "lab")
    with Lab(topology, run_dir=run_dir) as lab:
        server = lab.host("server").popen(["iperf3", "-s", "-1"], stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL)
        for _ in range(100):  # until it listens
            if b":5201" in lab.host("server").run(["ss", "-ltn"]).stdout:
                break
            time.sleep(0.05)
        captures = HostCaptures(lab, os.path.join(run_dir, "captures"), hosts=["client"])
        captures.start()
        try:
            done = lab.host("client").run(["iperf3", "-c", lab.host("server").address,
                                           "-n", size], timeout=300)
        finally:
            stats = captures.stop()
        server.wait(timeout=30)
        if done.returncode != 0:
            raise SystemExit(f"iperf3 failed: {done.stderr.decode(errors='replace')}")
    full = stats[0].path
    out = os.path.join(tmp, "bulk-100k.pcap")
    subprocess.run(["editcap", "-r", full, out, f"1-{PACKETS}"], check=True)
    os.unlink(full)
    count = int(subprocess.run(["capinfos", "-c", "-M", "-T", "-r", out], capture_output=True,
                               text=True, check=True).stdout.split()[-1])
    if count < PACKETS:
        raise SystemExit(f"only {count} packets captured ({stats[0].dropped} dropped by the "
                         "kernel); raise --size")
    return out


def timed(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, check=True, cwd=ROOT,
                   env={**os.environ, "PYTHONPATH": ROOT})
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--size", default="200M", help="iperf3 -n (bytes to send)")
    parser.add_argument("--keep", metavar="DIR", help="copy the capture here")
    args = parser.parse_args()
    if shutil.which("tshark") is None or shutil.which("iperf3") is None:
        raise SystemExit("needs tshark and iperf3 (scripts/provision.sh)")
    with tempfile.TemporaryDirectory() as tmp:
        pcap = make_capture(tmp, args.size)
        if args.keep:
            shutil.copy(pcap, args.keep)
        ours_argv = [sys.executable, "-c", RUNNER, pcap]
        theirs_argv = ["tshark", "-r", pcap, "-T", "json"]
        ours, theirs = [], []
        for _ in range(args.runs):
            ours.append(timed(ours_argv))
            theirs.append(timed(theirs_argv))
        size_mb = os.path.getsize(pcap) / 1e6
    o, t = statistics.median(ours), statistics.median(theirs)
    print(f"{PACKETS} packets ({size_mb:.0f} MB, iperf3 bulk transfer), median of "
          f"{args.runs} runs each")
    print(f"  tlslab inspect --json  {o:8.2f} s")
    print(f"  tshark -T json         {t:8.2f} s")
    print(f"  ratio tshark/tlslab    {t / o:8.2f}   (target >= 1.00)")


if __name__ == "__main__":
    main()
