"""Revert what an attack changed beyond its own processes, from a record alone.

Records sit in LabState.undo before the change is made, so `tlslab clean`
and lab.net.teardown can revert them after a crash: call undo(record) for
every record whose kind is in KINDS. Each names the namespace it changed by
(pid, start time, inode) of a process that holds it; when that namespace is
gone, the change went with it and there is nothing left to revert.

    {"kind": "mitm-sysctl", "ns": NS, "values": {"net.ipv4.ip_forward": "0", ...}}
    {"kind": "mitm-nat",    "ns": NS, "table": "tlslab_mitm_..."}
    {"kind": "mitm-arp",    "mitm_macs": [...], "victims": [{"ns": NS, "ip", "dev"}, ...]}
    {"kind": "mitm-mirror", "ns": NS, "ports": ["s1-p1", ...]}
"""
from __future__ import annotations

import json
import subprocess

from lab.net.procs import ProcRef, netns_inode, netns_inode_of_path

KINDS = ("mitm-sysctl", "mitm-nat", "mitm-arp", "mitm-mirror")


def ns_of_pid(pid: int) -> dict:
    """The record of a namespace held by a process (a lab host's shell)."""
    return {"pid": pid, "start": ProcRef.of(pid).start, "inode": netns_inode(pid)}


def ns_of_path(path: str) -> dict:
    """The record of a named namespace (the lab's outer one)."""
    return {"path": path, "inode": netns_inode_of_path(path)}


def enter(ns: dict) -> list[str] | None:
    """argv prefix that runs inside `ns`, or None if it is not there any more."""
    if "path" in ns:
        if ns["inode"] is None or netns_inode_of_path(ns["path"]) != ns["inode"]:
            return None
        return ["nsenter", f"--net={ns['path']}", "--"]
    ref = ProcRef(ns["pid"], ns["start"])
    if not ref.alive() or netns_inode(ref.pid) != ns["inode"]:
        return None
    return ["nsenter", f"--net=/proc/{ref.pid}/ns/net", "--"]


def undo(record: dict) -> list[str]:
    """Revert one record; returns what could not be reverted (normally nothing)."""
    handler = _HANDLERS.get(record.get("kind"))
    if handler is None:
        return [f"unknown mitm undo record {record!r}"]
    return handler(record)


def _run(prefix: list[str], argv: list[str], what: str, input: bytes | None = None) -> list[str]:
    done = subprocess.run(prefix + argv, capture_output=True, input=input, timeout=10)
    if done.returncode != 0:
        return [f"{what}: {' '.join(argv)}: {done.stderr.decode(errors='replace').strip()}"]
    return []


def _sysctl(record: dict) -> list[str]:
    prefix = enter(record["ns"])
    if prefix is None:
        return []
    settings = [f"{k}={v}" for k, v in record["values"].items()]
    return _run(prefix, ["sysctl", "-q", "-w", *settings], "restoring sysctls")


def _nat(record: dict) -> list[str]:
    prefix = enter(record["ns"])
    if prefix is None:
        return []
    listed = subprocess.run(prefix + ["nft", "list", "table", "ip", record["table"]],
                            capture_output=True, timeout=10)
    if listed.returncode != 0:
        return []  # never created, or already removed
    return _run(prefix, ["nft", "delete", "table", "ip", record["table"]], "removing redirect")


def _arp(record: dict) -> list[str]:
    """Drop victims' entries that still point at the mitm: the next packet
    resolves the true MAC afresh."""
    problems = []
    bad = {m.lower() for m in record["mitm_macs"]}
    for v in record["victims"]:
        prefix = enter(v["ns"])
        if prefix is None:
            continue
        shown = subprocess.run(prefix + ["ip", "-j", "neigh", "show", v["ip"], "dev", v["dev"]],
                               capture_output=True, timeout=10)
        entries = json.loads(shown.stdout or b"[]") if shown.returncode == 0 else []
        if any(e.get("lladdr", "").lower() in bad for e in entries):
            problems += _run(prefix, ["ip", "neigh", "del", v["ip"], "dev", v["dev"]],
                             "clearing a poisoned ARP entry")
    return problems


def _mirror(record: dict) -> list[str]:
    prefix = enter(record["ns"])
    if prefix is None:
        return []
    problems = []
    for port in record["ports"]:
        shown = subprocess.run(prefix + ["tc", "qdisc", "show", "dev", port],
                               capture_output=True, text=True, timeout=10)
        if shown.returncode == 0 and "clsact" in shown.stdout:
            problems += _run(prefix, ["tc", "qdisc", "del", "dev", port, "clsact"],
                             "removing a port mirror")
    return problems


_HANDLERS = {"mitm-sysctl": _sysctl, "mitm-nat": _nat, "mitm-arp": _arp, "mitm-mirror": _mirror}
