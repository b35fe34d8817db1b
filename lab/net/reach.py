"""Ping checks between lab hosts, measured, for `tlslab ping` and the tests."""
from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

_RTT = re.compile(rb"time=([0-9.]+) ms")


@dataclass(frozen=True)
class PingResult:
    src: str
    dst: str
    address: str
    ok: bool
    rtt_ms: float | None


def ping(lab, src: str, dst: str, count: int = 3, timeout: float = 2.0,
         interval: float = 0.01) -> PingResult:
    address = lab.host(dst).address
    proc = lab.host(src).run(["ping", "-n", "-c", str(count), "-i", str(interval),
                              "-W", str(timeout), address],
                             timeout=timeout * count + interval * count + 5)
    rtts = [float(m) for m in _RTT.findall(proc.stdout)]
    # Any reply counts: a lossy link may eat one probe, not the path.
    ok = proc.returncode == 0 and bool(rtts)
    return PingResult(src, dst, address, ok, min(rtts) if rtts else None)


def ping_pairs(lab, pairs, count: int = 3, interval: float = 0.01) -> list[PingResult]:
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(lambda p: ping(lab, *p, count=count, interval=interval), pairs))
