"""Packet captures on every interface of every lab host.

tcpdump starts before any traffic (we wait until it says it is listening),
writes each packet as it arrives (-U), and stops with SIGINT so it flushes and
reports its counters; a kernel drop count above 0 means the capture is not
the whole truth, and scenario results record it.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass

from lab.errors import LabFailure

_STATS = re.compile(r"(\d+) packets? (captured|received by filter|dropped by kernel)")


@dataclass(frozen=True)
class CaptureStats:
    host: str
    interface: str
    path: str
    captured: int
    received: int
    dropped: int


def parse_stats(stderr: str) -> dict[str, int]:
    """tcpdump's closing counters, keyed captured/received/dropped."""
    names = {"captured": "captured", "received by filter": "received",
             "dropped by kernel": "dropped"}
    return {names[kind]: int(n) for n, kind in _STATS.findall(stderr)}


@dataclass(frozen=True)
class Target:
    runner: object      # a HostRunner: the namespace the interface lives in
    host: str
    interface: str
    path: str           # the pcap to write
    log: str            # tcpdump's stderr, where its counters end up


class Tcpdumps:
    """tcpdump on each target; start() returns once all are listening."""

    def __init__(self, targets: list[Target], snaplen: int = 0):
        self.targets = targets
        self.snaplen = snaplen
        self._running: list[tuple[Target, subprocess.Popen]] = []

    def start(self, timeout: float = 10.0) -> None:
        for t in self.targets:
            os.makedirs(os.path.dirname(t.path), exist_ok=True)
            os.makedirs(os.path.dirname(t.log), exist_ok=True)
            with open(t.log, "wb") as fh:
                # -Z root: tcpdump would otherwise drop to its own user and
                # may not be allowed to write into the run directory.
                proc = t.runner.popen(
                    ["tcpdump", "-i", t.interface, "-w", t.path, "-U", "-n",
                     "-s", str(self.snaplen), "-Z", "root", "--immediate-mode"],
                    stdout=subprocess.DEVNULL, stderr=fh)
            self._running.append((t, proc))
        deadline = time.monotonic() + timeout
        for t, proc in self._running:
            while b"listening on" not in _read(t.log):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise LabFailure(f"tcpdump on {t.host}:{t.interface} did not start: "
                                     f"{_read(t.log).decode(errors='replace').strip()}")
                time.sleep(0.005)

    def stop(self, timeout: float = 10.0) -> list[CaptureStats]:
        """SIGINT (idempotent), then the counters tcpdump printed."""
        for _, proc in self._running:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        results = []
        for t, proc in self._running:
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                raise LabFailure(f"tcpdump on {t.host}:{t.interface} did not stop within "
                                 f"{timeout} s")
            stats = parse_stats(_read(t.log).decode(errors="replace"))
            if "captured" not in stats:
                raise LabFailure(f"tcpdump on {t.host}:{t.interface} reported no counters; "
                                 f"see {t.log}")
            results.append(CaptureStats(t.host, t.interface, t.path, stats["captured"],
                                        stats.get("received", 0), stats.get("dropped", 0)))
        self._running.clear()
        return results


class HostCaptures(Tcpdumps):
    """Every interface of every lab host: captures/<host>-<interface>.pcap."""

    def __init__(self, lab, out_dir: str, hosts: list[str] | None = None, snaplen: int = 0):
        logs = os.path.join(lab.run_dir, "logs")
        names = hosts if hosts is not None else list(lab.hosts)
        super().__init__([
            Target(lab.host(h), h, i.name, os.path.join(out_dir, f"{h}-{i.name}.pcap"),
                   os.path.join(logs, f"{h}-tcpdump-{i.name}.log"))
            for h in names for i in lab.host(h).node.interfaces], snaplen)


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError:
        return b""
