"""The impairment relay: `python -m lab.impair.relay --config FILE.json`.

A wire node between interfaces a and b in one namespace. It reads every
frame from an AF_PACKET socket per interface (through a PACKET_MMAP ring,
see ring.py, which also gives each frame's kernel receive time), asks that
direction's `Direction` when (and whether) to send it, and sends it out of
the other interface then. One thread: a heap of (release, seq, frame, link)
and select() with timeouts. Delays count from the kernel receive time, so
the relay's own wake-up latency on an idle link is not added to them.

Timing: select() overshoots by 50-400 us on this kind of VM, so the loop
sleeps until SPIN_NS before the next release and polls from there; that
keeps the median error near zero at the cost of <= SPIN_NS of CPU per wake.

The relay asks for SCHED_FIFO: on this 2-core VM the p99 delay error fell
from ~2.5 ms to ~0.25 ms once other processes (the endpoints, the prober,
other labs) could no longer delay its wake-ups. Real-time throttling
(sched_rt_runtime_us) still leaves 5% of the CPU to others if it spins.

Rate limiting is done here (serialisation times in the scheduler), not with
tbf on the egress interface: it is exact per frame and composes with delay
and loss in one place. Measured: iperf3 TCP goodput 92-96% of the rate
(headers, and TCP's window at 100 mbit), UDP on the wire 98-100%; see
bench/impairment.py.

The peers' veths need segmentation and checksum offloads off: a GSO frame
does not fit a ring slot and one with a partial checksum arrives broken.
The stats count both (`truncated`, not forwarded; `partial_checksum`), and
`kernel_drops` counts frames lost to a full ring; see control.problems().
"""
from __future__ import annotations

import argparse
import errno
import fcntl
import heapq
import json
import os
import select
import signal
import socket
import struct
import sys
import time

from lab.errors import EnvironmentProblem, LabError
from lab.impair.config import RelayConfig
from lab.impair.pipeline import Direction
from lab.impair.ring import RxRing

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP, PACKET_MR_PROMISC = 1, 1
PACKET_STATISTICS = 6
PACKET_IGNORE_OUTGOING = 23  # Linux 4.20: our own sends are not even queued to us
SO_SNDBUFFORCE = 32
SIOCGIFMTU = 0x8921
SOCKET_BUFFER = 16 << 20
SPIN_NS = 200_000
RT_PRIORITY = 10
BATCH = 64  # frames read per socket before due frames are sent again
MAX_RX_AGE_NS = 1_000_000_000


def _mtu(sock: socket.socket, ifname: str) -> int:
    ifreq = fcntl.ioctl(sock, SIOCGIFMTU, struct.pack("16si", ifname.encode(), 0))
    return struct.unpack("16si", ifreq)[1]


def open_socket(ifname: str) -> tuple[socket.socket, RxRing]:
    try:
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        try:
            sock.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
        except OSError:
            pass  # Linux < 4.20: the ring skips PACKET_OUTGOING frames itself
        sock.setsockopt(socket.SOL_SOCKET, SO_SNDBUFFORCE, SOCKET_BUFFER)
        # The ring before bind: a frame queued the old way would keep select()
        # reporting the socket readable forever.
        ring = RxRing(sock, _mtu(sock, ifname))
        sock.bind((ifname, ETH_P_ALL))
        mreq = struct.pack("iHH8s", socket.if_nametoindex(ifname), PACKET_MR_PROMISC, 0, b"")
        sock.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq)
    except OSError as exc:
        raise EnvironmentProblem(f"relay cannot open a packet socket on {ifname!r}: "
                                 f"{exc.strerror or exc}; it needs root (CAP_NET_RAW) and the "
                                 "interface must exist in the relay's namespace") from None
    sock.setblocking(False)
    return sock, ring


def kernel_drops(sock: socket.socket) -> int:
    try:
        _packets, drops = struct.unpack("II", sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8))
        return drops
    except OSError:
        return 0


class Link:
    """Per-direction I/O state: input socket, output socket, counters."""

    def __init__(self, direction: Direction, src: socket.socket, ring: RxRing,
                 dst: socket.socket):
        self.direction, self.src, self.ring, self.dst = direction, src, ring, dst
        self.fixed = direction.fixed_delay
        self.frames_in = self.frames_out = 0
        self.errors: dict[str, int] = {}

    def send(self, frame: bytes) -> None:
        try:
            self.dst.send(frame)
            self.frames_out += 1
        except OSError as exc:
            name = errno.errorcode.get(exc.errno, str(exc.errno))
            self.errors[name] = self.errors.get(name, 0) + 1

    def stats(self, discarded: int) -> dict:
        d = self.direction
        faults = d.fault_counts
        dropped = (d.scheduler.counts["loss"] + d.scheduler.counts["queue"]
                   + faults.get("drop", 0) + faults.get("down", 0))
        return {"in": self.frames_in, "out": self.frames_out, "dropped": dropped,
                "events": dict(d.scheduler.counts), "faults": dict(faults),
                "errors": self.errors, "discarded_at_exit": discarded,
                "kernel_drops": kernel_drops(self.src), "truncated": self.ring.truncated,
                "partial_checksum": self.ring.partial_checksum}


class JsonLines:
    def __init__(self, path: str | None, wall0: float, line_buffered: bool):
        self.wall0 = wall0
        self.fh = open(path, "a", buffering=1 if line_buffered else -1) if path else None

    def __call__(self, record: dict) -> None:
        record["wall"] = round(self.wall0 + record["t"], 6)
        self.fh.write(json.dumps(record) + "\n")

    @property
    def sink(self):
        return self if self.fh else None

    def close(self) -> None:
        if self.fh:
            self.fh.close()


def _realtime() -> str:
    """SCHED_FIFO for punctual wake-ups; 'yes' or why not (the relay runs either way)."""
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(RT_PRIORITY))
        return "yes"
    except (OSError, AttributeError) as exc:
        return f"no: {exc}"


def run(cfg: RelayConfig, path: str | None = None) -> dict:
    """Relay until SIGTERM/SIGINT; returns (and writes) the stats. SIGHUP
    re-reads the impairments from `path` (faults stay as they were)."""
    (sock_a, ring_a), (sock_b, ring_b) = open_socket(cfg.a_if), open_socket(cfg.b_if)
    stop = []
    wake_r, wake_w = socket.socketpair()
    wake_r.setblocking(False)
    wake_w.setblocking(False)
    signal.set_wakeup_fd(wake_w.fileno())
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.append(True))
    reload: list = []
    signal.signal(signal.SIGHUP, lambda *_: reload.append(True))

    realtime = _realtime() if cfg.realtime else "off in config"
    t0, wall0 = time.monotonic_ns(), time.time()
    fault_log = JsonLines(cfg.fault_log, wall0, line_buffered=True)
    event_log = JsonLines(cfg.event_log, wall0, line_buffered=False)
    ab, ba = cfg.labels
    links = {
        sock_a.fileno(): Link(Direction(ab, cfg.a_to_b, cfg.faults, cfg.seed,
                                        fault_log.sink, event_log.sink), sock_a, ring_a, sock_b),
        sock_b.fileno(): Link(Direction(ba, cfg.b_to_a, cfg.faults, cfg.seed,
                                        fault_log.sink, event_log.sink), sock_b, ring_b, sock_a),
    }
    if cfg.ready:
        with open(cfg.ready, "w") as fh:
            fh.write(f"{os.getpid()}\n")
    heap: list = []

    def reconfigure() -> None:
        new = RelayConfig.load(path) if path else cfg
        for link in links.values():
            imp = new.a_to_b if link.direction.label == ab else new.b_to_a
            link.direction.set_impairment(imp)
            link.fixed = link.direction.fixed_delay

    try:
        _loop(links, heap, [sock_a, sock_b, wake_r], wake_r, stop, t0, reload, reconfigure)
    finally:
        stats: dict = {"duration_s": round((time.monotonic_ns() - t0) / 1e9, 3),
                       "realtime": realtime}
        left: dict[int, int] = {}
        for _, _, _, link in heap:
            left[id(link)] = left.get(id(link), 0) + 1
        for link in links.values():
            stats[link.direction.label] = link.stats(
                left.get(id(link), 0) + link.direction.discard())
        fault_log.close()
        event_log.close()
        if cfg.stats:
            with open(cfg.stats, "w") as fh:
                json.dump(stats, fh, indent=2)
        signal.set_wakeup_fd(-1)
        for link in links.values():
            link.ring.close()
        for sock in (sock_a, sock_b, wake_r, wake_w):
            sock.close()
    return stats


def _loop(links: dict, heap: list, readable: list, wake_r, stop: list, t0: int,
          reload: list | None = None, reconfigure=None) -> None:
    mono, time_ns = time.monotonic_ns, time.time_ns
    push, pop = heapq.heappush, heapq.heappop
    seq = 0
    # Only links with hold faults can have frames waiting outside the heap.
    holding = [link for link in links.values() if link.direction.can_hold]
    while not stop:
        if reload:
            reload.clear()
            reconfigure()
        now = mono() - t0
        while heap and heap[0][0] <= now:
            _, _, frame, link = pop(heap)
            link.send(frame)
        for link in holding:
            if link.direction.held:
                for t, frame in link.direction.expire(now):
                    seq += 1
                    push(heap, (t, seq, frame, link))
        wake = heap[0][0] if heap else None
        for link in holding:
            deadline = link.direction.next_deadline()
            if deadline is not None and (wake is None or deadline < wake):
                wake = deadline
        if wake is None:
            timeout = None
        else:
            wait = wake - (mono() - t0)
            timeout = 0 if wait <= SPIN_NS else (wait - SPIN_NS) / 1e9
        ready, _, _ = select.select(readable, [], [], timeout)
        for sock in ready:
            if sock is wake_r:
                try:
                    wake_r.recv(64)
                except BlockingIOError:
                    pass
                continue
            link = links[sock.fileno()]
            batch = link.ring.read(BATCH)
            link.frames_in += len(batch)
            direction, fixed = link.direction, link.fixed
            now = mono() - t0
            rt_to_rel = time_ns() - now  # CLOCK_REALTIME ns -> ns since start
            for frame, rx in batch:
                # Count from the kernel's receive time, so the relay's own wake-up
                # latency is not added to the delay; distrust odd clock readings.
                arrived = rx - rt_to_rel
                if not now - MAX_RX_AGE_NS <= arrived <= now:
                    arrived = now
                if fixed is not None:  # delay only: skip the per-frame machinery
                    direction.frames += 1
                    releases = ((arrived + fixed, frame),)
                else:
                    releases = direction.process(arrived, frame)
                for t, out in releases:
                    # Send now only if nothing due earlier still waits (keeps FIFO
                    # when the relay runs late).
                    if t <= now and not (heap and heap[0][0] <= t):
                        link.send(out)
                    else:
                        seq += 1
                        push(heap, (t, seq, out, link))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.impair.relay",
                                     description="tlslab user-space link impairment relay")
    parser.add_argument("--config", required=True, help="relay config JSON")
    args = parser.parse_args(argv)
    try:
        run(RelayConfig.load(args.config), args.config)
    except LabError as exc:
        print(f"relay: {exc}", file=sys.stderr)
        return int(exc.exit_status)
    return 0


if __name__ == "__main__":
    sys.exit(main())
