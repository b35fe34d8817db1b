"""Processes and network namespaces, identified precisely.

A PID alone can be reused, so every recorded process is (pid, start time);
a namespace is its inode number. Killing is always by PID, never by name.
"""
from __future__ import annotations

import ctypes
import os
import signal
import time
from dataclasses import dataclass

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


@dataclass(frozen=True)
class ProcRef:
    pid: int
    start: int  # clock ticks since boot, field 22 of /proc/PID/stat

    def alive(self) -> bool:
        return start_time(self.pid) == self.start

    def to_json(self) -> dict:
        return {"pid": self.pid, "start": self.start}

    @classmethod
    def of(cls, pid: int) -> "ProcRef":
        return cls(pid, start_time(pid) or 0)


def start_time(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
    except OSError:
        return None
    # The command name may contain spaces and parentheses; fields resume after the last ')'.
    fields = stat[stat.rindex(b")") + 2:].split()
    if fields[0] == b"Z":  # a zombie is already dead, only waiting to be reaped
        return None
    return int(fields[19])


def netns_inode(pid: int | str = "self") -> int | None:
    try:
        return os.stat(f"/proc/{pid}/ns/net").st_ino
    except OSError:
        return None


def netns_inode_of_path(path: str) -> int | None:
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


def pids_in_netns(inodes: set[int]) -> list[int]:
    """Every process whose network namespace is one of `inodes`."""
    me = os.getpid()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            if os.stat(f"/proc/{entry}/ns/net").st_ino in inodes:
                found.append(int(entry))
        except OSError:
            continue
    return found


def kill(ref: ProcRef, sig: int = signal.SIGKILL) -> bool:
    """Signal a recorded process if it is still the same process."""
    if not ref.alive():
        return False
    try:
        os.kill(ref.pid, sig)
        return True
    except ProcessLookupError:
        return False


def terminate_all(refs: list[ProcRef], grace: float = 1.0) -> None:
    """SIGTERM, wait up to `grace` seconds, then SIGKILL what is left."""
    live = [r for r in refs if kill(r, signal.SIGTERM)]
    deadline = time.monotonic() + grace
    while live and time.monotonic() < deadline:
        for ref in live:
            reap(ref.pid)
        live = [r for r in live if r.alive()]
        if live:
            time.sleep(0.01)
    for ref in live:
        kill(ref, signal.SIGKILL)


def reap(pid: int, timeout: float = 0.0) -> None:
    """Collect an exited child of ours so no zombie stays; others are ignored."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return
        except ChildProcessError:
            return
        if time.monotonic() >= deadline:
            return
        time.sleep(0.002)


class NetnsSwitch:
    """Move the calling thread into a network namespace, and back.

    setns(2) changes only the calling thread; processes it starts inherit the
    namespace, which is how Mininet's bridges and veths land in the lab's own
    namespace instead of the machine's.
    """

    def __init__(self, path: str):
        self.path = path
        self._home: int | None = None

    def __enter__(self) -> "NetnsSwitch":
        self._home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        target = os.open(self.path, os.O_RDONLY)
        try:
            if _libc.setns(target, CLONE_NEWNET) != 0:
                err = ctypes.get_errno()
                raise OSError(err, f"setns({self.path}): {os.strerror(err)}")
        finally:
            os.close(target)
        return self

    def __exit__(self, *exc) -> None:
        assert self._home is not None
        try:
            if _libc.setns(self._home, CLONE_NEWNET) != 0:
                err = ctypes.get_errno()
                raise OSError(err, f"setns back home: {os.strerror(err)}")
        finally:
            os.close(self._home)
            self._home = None
