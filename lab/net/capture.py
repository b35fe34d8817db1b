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


class HostCaptures:
    """tcpdump on each (host, interface); start() then stop()."""

    def __init__(self, lab, out_dir: str, hosts: list[str] | None = None, snaplen: int = 0):
        self.lab = lab
        self.out_dir = out_dir
        self.snaplen = snaplen
        names = hosts if hosts is not None else list(lab.hosts)
        self.targets = [(h, i.name) for h in names for i in lab.host(h).node.interfaces]
        self._running: list[tuple[str, str, str, str, subprocess.Popen]] = []

    def start(self, timeout: float = 10.0) -> None:
        os.makedirs(self.out_dir, exist_ok=True)
        logs = os.path.join(self.lab.run_dir, "logs")
        os.makedirs(logs, exist_ok=True)
        for host, intf in self.targets:
            path = os.path.join(self.out_dir, f"{host}-{intf}.pcap")
            log = os.path.join(logs, f"{host}-tcpdump-{intf}.log")
            with open(log, "wb") as fh:
                # -Z root: tcpdump would otherwise drop to its own user and
                # may not be allowed to write into the run directory.
                proc = self.lab.host(host).popen(
                    ["tcpdump", "-i", intf, "-w", path, "-U", "-n", "-s", str(self.snaplen),
                     "-Z", "root", "--immediate-mode"],
                    stdout=subprocess.DEVNULL, stderr=fh)
            self._running.append((host, intf, path, log, proc))
        deadline = time.monotonic() + timeout
        for host, intf, _, log, proc in self._running:
            while b"listening on" not in _read(log):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise LabFailure(f"tcpdump on {host}:{intf} did not start: "
                                     f"{_read(log).decode(errors='replace').strip()}")
                time.sleep(0.005)

    def stop(self, timeout: float = 10.0) -> list[CaptureStats]:
        for *_, proc in self._running:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        results = []
        for host, intf, path, log, proc in self._running:
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                raise LabFailure(f"tcpdump on {host}:{intf} did not stop within {timeout} s")
            stats = parse_stats(_read(log).decode(errors="replace"))
            if "captured" not in stats:
                raise LabFailure(f"tcpdump on {host}:{intf} reported no counters; see {log}")
            results.append(CaptureStats(host, intf, path, stats["captured"],
                                        stats.get("received", 0), stats.get("dropped", 0)))
        self._running.clear()
        return results


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError:
        return b""
