"""What `tlslab inspect` reads: a run directory or a single capture.

A run directory gives per-host captures (captures/<host>-<interface>.pcap),
the key log (keys/all.keylog), the server keys (certs/*.key) and, from
result.json and topology.yaml, each host's addresses. A capture alone gets
its key log from --keylog or a sibling <name>.keys / <name>.keylog.
"""
from __future__ import annotations

import glob
import json
import os
from dataclasses import dataclass, field

from lab.analysis import read_pcap, split_connections
from lab.decrypt import KeyLog, load_keylog, load_server_keys, open_connection
from lab.errors import InputError
from lab.inspect.model import ConnectionView
from lab.inspect.timeline import build_view


@dataclass(frozen=True)
class Capture:
    host: str
    interface: str
    path: str

    @property
    def vantage(self) -> str:
        return f"{self.host}:{self.interface}" if self.interface else self.host


@dataclass(frozen=True)
class Target:
    path: str
    run_dir: str | None
    result: dict = field(repr=False)
    captures: tuple[Capture, ...]
    keylog_paths: tuple[str, ...]
    key_paths: tuple[str, ...]
    addresses: dict[str, frozenset[str]] = field(repr=False)

    @property
    def hosts(self) -> list[str]:
        return list(dict.fromkeys(c.host for c in self.captures))

    def default_host(self) -> str:
        """The first client host in result.json, else the first capture's host."""
        for conn in self.result.get("connections", []):
            if conn.get("client_host") in self.hosts:
                return conn["client_host"]
        return self.captures[0].host

    def captures_of(self, host: str) -> list[Capture]:
        found = [c for c in self.captures if c.host == host]
        if not found:
            raise InputError(f"no captures of host '{host}' in {self.path}; "
                             f"hosts: {', '.join(self.hosts)}")
        return found

    def keylog(self) -> KeyLog | None:
        return load_keylog(*self.keylog_paths) if self.keylog_paths else None

    def server_keys(self):
        return load_server_keys(list(self.key_paths))


def open_target(path: str, keylog: str | None = None, keys: tuple[str, ...] = ()) -> Target:
    if not os.path.exists(path):
        raise InputError(f"{path}: no such run directory or capture")
    if keylog is not None and not os.path.isfile(keylog):
        raise InputError(f"--keylog {keylog}: no such file")
    for key in keys:
        if not os.path.isfile(key):
            raise InputError(f"--key {key}: no such file")
    if os.path.isdir(path):
        return _run_dir(path, None, keylog, keys)
    parent = os.path.dirname(os.path.abspath(path))
    if os.path.basename(parent) == "captures" and \
            os.path.exists(os.path.join(parent, "..", "result.json")):
        return _run_dir(os.path.dirname(parent), path, keylog, keys)
    stem = os.path.splitext(path)[0]
    found = keylog or next((p for p in (stem + ".keys", stem + ".keylog") if os.path.isfile(p)),
                           None)
    name = os.path.basename(stem)
    return Target(path, None, {}, (Capture(name, "", path),), (found,) if found else (),
                  tuple(keys), {})


def _run_dir(run_dir: str, only: str | None, keylog: str | None, keys) -> Target:
    result = _read_json(os.path.join(run_dir, "result.json"))
    paths = [only] if only else sorted(glob.glob(os.path.join(run_dir, "captures", "*.pcap")))
    if not paths:
        raise InputError(f"{run_dir}: no captures/*.pcap (is this a tlslab run directory?)")
    captures = []
    for p in paths:
        host, _, intf = os.path.splitext(os.path.basename(p))[0].rpartition("-")
        captures.append(Capture(host or intf, intf if host else "", p))
    if keylog:
        logs = (keylog,)
    else:
        merged = os.path.join(run_dir, "keys", "all.keylog")
        logs = (merged,) if os.path.isfile(merged) else \
            tuple(sorted(glob.glob(os.path.join(run_dir, "keys", "*.keylog"))))
    key_files = tuple(sorted(glob.glob(os.path.join(run_dir, "certs", "*.key")))) + tuple(keys)
    return Target(run_dir, run_dir, result, tuple(captures), logs, key_files,
                  _addresses(run_dir, result))


def _read_json(path: str) -> dict:
    try:
        with open(path) as fh:
            return json.load(fh)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read: {exc}") from exc


def _addresses(run_dir: str, result: dict) -> dict[str, frozenset[str]]:
    """Each host's IP addresses, to tell sent from received packets."""
    found: dict[str, set[str]] = {}
    for c in result.get("connections", []):
        for role in ("client", "server"):
            if c.get(f"{role}_host") and c.get(f"{role}_address"):
                found.setdefault(c[f"{role}_host"], set()).add(c[f"{role}_address"])
    topo = os.path.join(run_dir, "topology.yaml")
    if os.path.isfile(topo):
        import yaml
        try:
            with open(topo) as fh:
                nodes = (yaml.safe_load(fh) or {}).get("nodes") or {}
            for name, node in nodes.items():
                for addr in ((node or {}).get("interfaces") or {}).values():
                    found.setdefault(name, set()).add(str(addr).split("/")[0])
        except (OSError, yaml.YAMLError, AttributeError):
            pass  # addresses only refine the arrows; a bad file must not stop inspect
    return {host: frozenset(a) for host, a in found.items()}


def host_views(target: Target, host: str, conn: int | None = None) -> list[ConnectionView]:
    """The host's connections (all, or number `conn`), from each of its captures."""
    keylog, keys = target.keylog(), target.server_keys()
    local = target.addresses.get(host, frozenset())
    views: list[ConnectionView] = []
    number = 0
    for cap in target.captures_of(host):
        sessions: dict = {}
        for c in split_connections(read_pcap(cap.path)):
            if conn is None or number == conn:
                views.append(build_view(c, cap.vantage, cap.path, number, keylog, keys,
                                        sessions, local))
            elif number < conn and (keylog or keys):
                open_connection(c, keylog, keys, sessions)  # resumption needs earlier sessions
            number += 1
    if conn is not None and not views:
        raise InputError(f"--conn {conn}: {host} has {number} connection(s), "
                         f"numbered 0..{number - 1}" if number else f"{host} saw no TCP connection")
    return views
