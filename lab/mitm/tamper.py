"""The downgrading proxy, run on the mitm host:

    python -m lab.mitm.tamper '<json args>'

It terminates no TLS. Per redirected connection it rewrites the client's
ClientHello (lab.mitm.hello.downgrade: versions above max_version and, if
asked, unwanted cipher suites removed), forwards every other byte unchanged,
and logs what each side then did: the ServerHello (version, suite, RFC 8446
downgrade sentinel), plaintext alerts, and how many records of each type
crossed. A client that notices the tampering aborts; the log shows where.
"""
from __future__ import annotations

import select
import socket

from lab.mitm.eventlog import EventLog
from lab.mitm.hello import (ALERT, APPDATA, CCS, HANDSHAKE, SERVER_HELLO, VERSION_CODES,
                            VERSION_NAMES, downgrade, encode_client_hello, encode_records,
                            parse_client_hello, parse_server_hello, split_records,
                            supported_versions)
from lab.mitm.serve import original_dst, read_client_hello, run
from lab.tls.names import ALERTS, suite, suite_by_code

TYPES = {HANDSHAKE: "handshake", ALERT: "alert", CCS: "change_cipher_spec", APPDATA: "application_data"}


def _names(versions) -> list[str]:
    return [VERSION_NAMES.get(v, f"0x{v:04x}") for v in versions]


def _suite(code: int) -> str:
    found = suite_by_code(code)
    return found.iana if found else f"0x{code:04x}"


class Watcher:
    """Reads one direction's records as they pass; never changes them."""

    def __init__(self, log: EventLog, n: int, side: str):
        self.log, self.n, self.side = log, n, side
        self.buf = b""
        self.counts: dict[str, int] = {}
        self.encrypted = False  # after this side's ChangeCipherSpec (TLS <= 1.2)
        self.tls13 = False

    def feed(self, data: bytes) -> None:
        records, self.buf = split_records(self.buf + data)
        for rec in records:
            kind = TYPES.get(rec.content_type, str(rec.content_type))
            self.counts[kind] = self.counts.get(kind, 0) + 1
            if rec.content_type == CCS and not self.tls13:
                self.encrypted = True
            elif rec.content_type == ALERT and len(rec.body) == 2 and not self.encrypted:
                level = {1: "warning", 2: "fatal"}.get(rec.body[0], str(rec.body[0]))
                self.log.event(self.n, "alert", side=self.side, level=level,
                               description=ALERTS.get(rec.body[1], str(rec.body[1])))
            elif rec.content_type == HANDSHAKE and self.side == "server" \
                    and rec.body[:1] == bytes([SERVER_HELLO]) and not self.encrypted:
                try:
                    sh = parse_server_hello(rec.body)
                except ValueError as exc:
                    self.log.event(self.n, "server_hello", error=str(exc))
                    continue
                self.tls13 = sh.version == VERSION_CODES["1.3"]
                self.log.event(self.n, "server_hello", version=sh.version_name,
                               cipher=_suite(sh.cipher_suite), downgrade_sentinel=sh.sentinel)


class Tamper:
    def __init__(self, opts: dict):
        self.opts = opts
        self.log = EventLog(opts["log"])
        self.max_version = VERSION_CODES[opts.get("max_version", "1.2")]
        self.ciphers = tuple(suite(c).code for c in opts.get("ciphers", ()))
        self.timeout = float(opts.get("timeout", 10.0))

    def handle(self, n: int, sock: socket.socket, peer: tuple) -> None:
        upstream = None
        try:
            sock.settimeout(self.timeout)
            dst = original_dst(sock)
            self.log.event(n, "accept", client=f"{peer[0]}:{peer[1]}",
                           original_dst=f"{dst[0]}:{dst[1]}")
            upstream = socket.create_connection(dst, timeout=self.timeout)
            data, msg = read_client_hello(sock, self.timeout, peek=False)
            upstream.sendall(self.rewrite(n, data, msg))
            self.relay(n, sock, upstream)
        except Exception as exc:  # one connection's failure must not stop the proxy
            self.log.event(n, "error", error=f"{type(exc).__name__}: {exc}")
        finally:
            for s in (upstream, sock):
                if s is not None:
                    s.close()

    def rewrite(self, n: int, data: bytes, msg: bytes | None) -> bytes:
        """The bytes to send upstream instead of the client's first flight."""
        if msg is None:
            self.log.event(n, "client_hello", rewritten=False, note="not a TLS ClientHello")
            return data
        records, _ = split_records(data)
        used = got = 0  # stream bytes, and handshake bytes, of the records carrying the hello
        for rec in records:
            used, got = used + 5 + len(rec.body), got + len(rec.body)
            if got >= len(msg):
                break
        tail = b"".join(r.body for r in records)[len(msg):got]  # a next message sharing its record
        ch = parse_client_hello(msg)
        try:
            new = downgrade(ch, self.max_version, self.ciphers)
        except ValueError as exc:
            self.log.event(n, "client_hello", rewritten=False, note=str(exc))
            return data
        self.log.event(n, "client_hello", rewritten=True,
                       offered_versions=_names(supported_versions(ch)),
                       forwarded_versions=_names(supported_versions(new)),
                       offered_ciphers=[_suite(c) for c in ch.cipher_suites],
                       forwarded_ciphers=[_suite(c) for c in new.cipher_suites])
        version = records[0].version
        out = encode_records(HANDSHAKE, version, encode_client_hello(new))
        if tail:
            out += encode_records(HANDSHAKE, version, tail)
        return out + data[used:]  # anything sent after the hello goes on unchanged

    def relay(self, n: int, client: socket.socket, upstream: socket.socket) -> None:
        watch = {client: Watcher(self.log, n, "client"), upstream: Watcher(self.log, n, "server")}
        peers = {client: upstream, upstream: client}
        sent = {"client": 0, "server": 0}
        closed_by = None
        while closed_by is None:
            ready = select.select(list(peers), [], [], self.timeout)[0]
            if not ready:
                closed_by = "idle timeout"
            for s in ready:
                try:
                    data = s.recv(65536)
                except OSError as exc:
                    data, closed_by = b"", f"{watch[s].side} error: {exc}"
                if not data:
                    closed_by = closed_by or f"{watch[s].side} closed"
                    break
                # The server's view decides TLS 1.3 for both directions.
                watch[client].tls13 = watch[upstream].tls13
                watch[s].feed(data)
                sent[watch[s].side] += len(data)
                peers[s].sendall(data)
        self.log.event(n, "close", closed_by=closed_by, bytes=sent,
                       client_records=watch[client].counts, server_records=watch[upstream].counts)


def main() -> None:
    run(Tamper)


if __name__ == "__main__":
    main()
