"""UDP echo prober: `python -m lab.impair.probe echo|send ...`, one per host.

Why not only ping: each probe carries a sequence number, so loss patterns
are exact, and the RTT is taken from kernel receive timestamps
(SO_TIMESTAMPNS) on both ends with the echo server's own turnaround
subtracted, so neither process's wake-up latency counts as link delay.

    echo: --bind IP --port P            answers until killed
    send: --dst IP --port P --count N --interval S [--wait S] [--size B]
          prints {"sent": N, "rtt_ns": [ns or null per probe]} as JSON
"""
from __future__ import annotations

import argparse
import json
import select
import socket
import struct
import sys
import time

SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
_PROBE = struct.Struct("!4sIqq")  # magic, seq, client send ns, server turnaround ns
MAGIC = b"TLPR"
_TS = struct.Struct("qq")


def _socket(bind: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in bind else socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.bind((bind, port))
    return sock


def _recv(sock: socket.socket) -> tuple[bytes, object, int]:
    """(data, sender, kernel receive time in CLOCK_REALTIME ns)."""
    data, ancdata, _flags, addr = sock.recvmsg(2048, socket.CMSG_SPACE(_TS.size))
    for level, kind, value in ancdata:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
            sec, nsec = _TS.unpack(value[:_TS.size])
            return data, addr, sec * 1_000_000_000 + nsec
    return data, addr, time.time_ns()


def echo(bind: str, port: int) -> None:
    sock = _socket(bind, port)
    while True:
        data, addr, rx = _recv(sock)
        if len(data) >= _PROBE.size and data[:4] == MAGIC:
            magic, seq, sent, _ = _PROBE.unpack_from(data)
            turnaround = time.time_ns() - rx
            sock.sendto(_PROBE.pack(magic, seq, sent, turnaround) + data[_PROBE.size:], addr)


def send(dst: str, port: int, count: int, interval: float, wait: float, size: int) -> dict:
    sock = _socket("::" if ":" in dst else "0.0.0.0", 0)
    sock.setblocking(False)
    rtts: list[int | None] = [None] * count
    pad = b"\0" * max(0, size - _PROBE.size)
    start = time.monotonic()
    sent = 0
    end = start + count * interval + wait
    while True:
        now = time.monotonic()
        if sent < count and now >= start + sent * interval:
            sock.sendto(_PROBE.pack(MAGIC, sent, time.time_ns(), 0) + pad, (dst, port))
            sent += 1
            continue
        if now >= end:
            break
        next_send = start + sent * interval if sent < count else end
        readable, _, _ = select.select([sock], [], [], max(0.0, min(next_send, end) - now))
        while readable:
            try:
                data, _addr, rx = _recv(sock)
            except BlockingIOError:
                break
            if len(data) >= _PROBE.size and data[:4] == MAGIC:
                _, seq, tx, turnaround = _PROBE.unpack_from(data)
                if seq < count and rtts[seq] is None:
                    rtts[seq] = rx - tx - turnaround
    return {"sent": sent, "interval": interval, "rtt_ns": rtts}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.impair.probe")
    sub = parser.add_subparsers(dest="mode", required=True)
    e = sub.add_parser("echo")
    e.add_argument("--bind", default="0.0.0.0")
    e.add_argument("--port", type=int, required=True)
    s = sub.add_parser("send")
    s.add_argument("--dst", required=True)
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--count", type=int, default=1000)
    s.add_argument("--interval", type=float, default=0.01)
    s.add_argument("--wait", type=float, default=1.0, help="seconds to wait for late replies")
    s.add_argument("--size", type=int, default=64, help="UDP payload bytes")
    args = parser.parse_args(argv)
    if args.mode == "echo":
        try:
            echo(args.bind, args.port)
        except KeyboardInterrupt:
            pass
        return 0
    json.dump(send(args.dst, args.port, args.count, args.interval, args.wait, args.size),
              sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
