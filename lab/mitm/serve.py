"""What the MITM's proxy processes share: the redirected listener, the
connection's original destination, stopping on SIGTERM, and reading the
client's first flight.
"""
from __future__ import annotations

import json
import select
import signal
import socket
import struct
import sys
import threading
import time
from typing import Callable

from lab.mitm.hello import first_handshake_message, split_records

SO_ORIGINAL_DST = 80  # linux/netfilter_ipv4.h: the pre-NAT destination of a redirected socket


def original_dst(sock: socket.socket) -> tuple[str, int]:
    raw = sock.getsockopt(socket.SOL_IP, SO_ORIGINAL_DST, 16)
    port, packed = struct.unpack_from("!2xH4s", raw)
    return socket.inet_ntoa(packed), port


def args() -> dict:
    return json.loads(sys.argv[1])


def run(make) -> None:
    """The entry point of a proxy process: `make(opts)` builds the handler
    object (with .handle and .log) from the JSON options in argv[1]."""
    opts = args()
    handler = make(opts)
    try:
        serve(int(opts["listen"]), handler.handle)
    finally:
        handler.log.close()


def serve(port: int, handle: Callable[[int, socket.socket, tuple], None]) -> None:
    """Accept until SIGTERM/SIGINT, one thread per connection, numbered from 0."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("0.0.0.0", port))
    server.listen(16)
    print(f"listening on port {port}", file=sys.stderr, flush=True)
    threads, n = [], 0
    while not stop.is_set():
        if not select.select([server], [], [], 0.2)[0]:
            continue
        conn, peer = server.accept()
        t = threading.Thread(target=handle, args=(n, conn, peer), daemon=True)
        t.start()
        threads.append(t)
        n += 1
    server.close()
    deadline = time.monotonic() + 2.0
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))


def read_client_hello(sock: socket.socket, timeout: float, peek: bool) -> tuple[bytes, bytes | None]:
    """(bytes read, the first handshake message or None if the client sent
    something else). peek=True leaves the bytes in the socket."""
    deadline = time.monotonic() + timeout
    data = b""
    while time.monotonic() < deadline:
        if peek:
            # A peek returns what is queued without consuming it: poll until it grows.
            data = sock.recv(65536, socket.MSG_PEEK)
        else:
            if not select.select([sock], [], [], max(0.0, deadline - time.monotonic()))[0]:
                break
            data += sock.recv(65536)
        if not data:
            return data, None
        try:
            msg = first_handshake_message(split_records(data)[0])
        except ValueError:
            return data, None
        if msg is not None:
            return data, msg
        if peek:
            time.sleep(0.005)
    return data, None
