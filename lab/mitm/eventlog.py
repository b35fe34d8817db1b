"""The proxies' JSONL log: one event per line, and its reading back.

Plaintext is logged per chunk as base64 with its SHA-256; reading the log
recomputes each direction's total digest from the chunks, so a summary never
trusts a number the proxy merely claimed.
"""
from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from typing import Any, Iterable

DIRECTIONS = ("client->server", "server->client")


class EventLog:
    """Thread-safe, line-buffered JSONL writer."""

    def __init__(self, path: str):
        self._fh = open(path, "a", buffering=1)
        self._lock = threading.Lock()

    def event(self, conn: int | None, event: str, **fields: Any) -> None:
        line = json.dumps({"t": round(time.time(), 6), "conn": conn, "event": event, **fields},
                          default=str)
        with self._lock:
            if not self._fh.closed:
                self._fh.write(line + "\n")

    def data(self, conn: int, direction: str, chunk: bytes) -> None:
        self.event(conn, "data", dir=direction, len=len(chunk),
                   sha256=hashlib.sha256(chunk).hexdigest(),
                   b64=base64.b64encode(chunk).decode())

    def close(self) -> None:
        with self._lock:
            self._fh.close()


def read_events(path: str) -> list[dict]:
    """Every complete line; a torn last line (process killed) is skipped."""
    out = []
    try:
        with open(path) as fh:
            for line in fh:
                try:
                    out.append(json.loads(line))
                except ValueError:
                    continue
    except FileNotFoundError:
        pass
    return out


def connections(events: Iterable[dict]) -> list[dict]:
    """One summary per proxied connection, in order: every other event's
    fields merged (later ones win), alerts as a list, and plaintext bytes and
    SHA-256 per direction."""
    conns: dict[int, dict] = {}
    digests: dict[int, dict[str, Any]] = {}
    for ev in events:
        n = ev.get("conn")
        if n is None:
            continue
        summary = conns.setdefault(n, {"conn": n, "events": []})
        hashes = digests.setdefault(n, {d: hashlib.sha256() for d in DIRECTIONS})
        if ev["event"] == "data":
            chunk = base64.b64decode(ev["b64"])
            hashes[ev["dir"]].update(chunk)
            counts = summary.setdefault("plaintext_bytes", dict.fromkeys(DIRECTIONS, 0))
            counts[ev["dir"]] += len(chunk)
            continue
        summary["events"].append(ev["event"])
        if ev["event"] == "alert":  # may come from both sides: kept as a list
            summary.setdefault("alerts", []).append(
                {k: v for k, v in ev.items() if k not in ("conn", "event")})
            continue
        summary.update({k: v for k, v in ev.items() if k not in ("t", "conn", "event")})
    for n, summary in conns.items():
        counts = summary.setdefault("plaintext_bytes", dict.fromkeys(DIRECTIONS, 0))
        summary["plaintext_sha256"] = {d: digests[n][d].hexdigest() if counts[d] else None
                                       for d in DIRECTIONS}
    return [conns[n] for n in sorted(conns)]


def saw_plaintext(summaries: Iterable[dict]) -> bool:
    return any(any(s["plaintext_bytes"].values()) for s in summaries)
