"""What every agent script shares: argument passing, the tiny application
protocol, timestamps, certificate summaries and Outcome printing.

Agents run on a lab host as `python -m lab.tls.agents.<name> '<json>'` and print
one JSON Outcome per line on stdout (their log), nothing else starting with '{'.
"""
from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import Callable

from lab.tls.roles import ClientSpec, Outcome, ServerSpec

_BYTES_FIELDS = ("data", "response")
REQUEST_END = b"\r\n\r\n"
MAX_REQUEST = 1 << 16
LISTEN_BACKLOG = 16


# --- argument passing (parent side and agent side) --------------------------
def encode_args(role: str, spec: ServerSpec | ClientSpec, timeout: float) -> str:
    fields = dataclasses.asdict(spec)
    for name in _BYTES_FIELDS:
        if name in fields:
            fields[name] = base64.b64encode(fields[name]).decode()
    return json.dumps({"role": role, "timeout": timeout, "spec": fields})


def decode_args(text: str) -> tuple[str, ServerSpec | ClientSpec, float]:
    obj = json.loads(text)
    fields = obj["spec"]
    for name in _BYTES_FIELDS:
        if name in fields:
            fields[name] = base64.b64decode(fields[name])
    cls = ServerSpec if obj["role"] == "server" else ClientSpec
    return obj["role"], cls(**fields), float(obj["timeout"])


def agent_argv(module: str, role: str, spec, timeout: float) -> list[str]:
    return [sys.executable, "-m", module, encode_args(role, spec, timeout)]


def agent_env() -> dict[str, str]:
    """The host's processes must import `lab` even when it is not installed."""
    root = str(Path(__file__).resolve().parents[3])
    env = dict(os.environ)
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


# --- agent side --------------------------------------------------------------
class Clock:
    """Seconds since the connection attempt (client) or accept (server) began."""

    def __init__(self):
        self.t0 = time.monotonic()

    def since(self) -> float:
        return round(time.monotonic() - self.t0, 6)


def emit(outcome: Outcome) -> None:
    print(json.dumps(outcome.to_json()), flush=True)


def log(*parts) -> None:
    print(*parts, file=sys.stderr, flush=True)


def cert_summary(outcome: Outcome, der: bytes | None) -> None:
    if not der:
        return
    from cryptography import x509
    cert = x509.load_der_x509_certificate(der)
    outcome.peer_subject = cert.subject.rfc4514_string()
    outcome.peer_issuer = cert.issuer.rfc4514_string()
    outcome.peer_sha256 = hashlib.sha256(der).hexdigest()


def spki_pin(der: bytes) -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
    spki = x509.load_der_x509_certificate(der).public_key().public_bytes(
        Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


def read_request(recv: Callable[[int], bytes], outcome: Outcome, clock: Clock) -> bytes:
    """Server side: read until the blank line ending an HTTP request, or EOF."""
    got = b""
    while REQUEST_END not in got and len(got) < MAX_REQUEST:
        chunk = recv(4096)
        if not chunk:
            break
        if not got:
            outcome.timings.first_app_byte = clock.since()
        got += chunk
    return got


def read_all(recv: Callable[[int], bytes], outcome: Outcome, clock: Clock,
             eof_errors: tuple[type[BaseException], ...] = ()) -> bytes:
    """Client side: read until the server closes."""
    got = b""
    while True:
        try:
            chunk = recv(16384)
        except eof_errors:
            break
        if not chunk:
            break
        if not got:
            outcome.timings.first_app_byte = clock.since()
        got += chunk
    return got


def listen(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("0.0.0.0", port))
    sock.listen(LISTEN_BACKLOG)
    return sock


def serve_forever(port: int, timeout: float,
                  handle: Callable[[socket.socket, int], Outcome]) -> None:
    """Accept connections one at a time until killed; one Outcome each."""
    server = listen(port)
    log(f"listening on port {port}")
    index = 0
    while True:
        conn, peer = server.accept()
        conn.settimeout(timeout)
        log(f"accepted {peer[0]}:{peer[1]}")
        try:
            emit(handle(conn, index))
        finally:
            conn.close()
        index += 1


def connect(spec: ClientSpec, timeout: float, outcome: Outcome, clock: Clock) -> socket.socket | None:
    try:
        sock = socket.create_connection((spec.address, spec.port), timeout=timeout)
    except socket.timeout as exc:
        outcome.error_class, outcome.error_message = "timeout", f"TCP connect: {exc}"
        return None
    except OSError as exc:
        outcome.error_class, outcome.error_message = "connect_failed", str(exc)
        return None
    outcome.timings.tcp_connect = clock.since()
    return sock
