"""Shared fixtures: skip integration tests where they cannot run, and check
that every lab test leaves the machine as it found it."""
from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def pytest_collection_modifyitems(config, items):
    can_run = os.geteuid() == 0 and shutil.which("mnexec") is not None
    skip = pytest.mark.skip(reason="integration tests need root and mnexec (scripts/provision.sh)")
    for item in items:
        if "integration" in item.keywords and not can_run:
            item.add_marker(skip)


@dataclass(frozen=True)
class Snapshot:
    netns: frozenset[str]
    links: frozenset[str]
    foreign_procs: frozenset[tuple[int, int]]  # (pid, netns inode) outside the root netns
    registry: frozenset[str]

    def leftovers(self, before: "Snapshot") -> dict[str, set]:
        diff = {
            "namespaces": set(self.netns - before.netns),
            "links": set(self.links - before.links),
            "processes": {f"{pid} {_cmdline(pid)}" for pid, _ in self.foreign_procs - before.foreign_procs},
            "registry": set(self.registry - before.registry),
        }
        return {k: v for k, v in diff.items() if v}


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode(errors="replace")[:80]
    except OSError:
        return "?"


def snapshot() -> Snapshot:
    from lab.net.state import REGISTRY

    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    root_ns = os.stat("/proc/self/ns/net").st_ino
    procs = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ino = os.stat(f"/proc/{entry}/ns/net").st_ino
            except OSError:
                continue
            if ino != root_ns and _is_lab_like(int(entry)):
                procs.add((int(entry), ino))
    registry = set(os.listdir(REGISTRY)) if os.path.isdir(REGISTRY) else set()
    return Snapshot(
        netns=frozenset(line.split()[0] for line in netns.splitlines() if line.strip()),
        links=frozenset(line.split(":")[1].strip().split("@")[0] for line in links.splitlines()),
        foreign_procs=frozenset(procs),
        registry=frozenset(registry),
    )


def _is_lab_like(pid: int) -> bool:
    # Processes of pytest's own children count too; only ones in other namespaces matter.
    return _cmdline(pid) != "?"


@pytest.fixture
def clean_system():
    """Fail the test if it left namespaces, links, processes or registry entries."""
    before = snapshot()
    yield before
    after = snapshot()
    left = after.leftovers(before)
    assert not left, f"left behind: {left}"


@pytest.fixture
def tlslab_cmd():
    """Run the CLI as users do, in a subprocess."""
    import sys

    def run(*args, timeout=120, **kwargs):
        return subprocess.run([sys.executable, "-m", "lab", *args], capture_output=True,
                              text=True, timeout=timeout, cwd=kwargs.pop("cwd", ROOT), **kwargs)

    return run
