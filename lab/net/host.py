"""Runners for a lab's hosts and for its outer namespace (see lab.net.runner)."""
from __future__ import annotations

import subprocess

from lab.model.topology import Node
from lab.net.procs import ProcRef
from lab.net.state import LabState


class _Recorded:
    """Starts argv lists through a namespace-entering prefix and records them."""

    name: str
    state: LabState

    def argv(self, argv) -> list[str]:
        raise NotImplementedError

    def popen(self, argv, *, stdin=None, stdout=None, stderr=None, env=None, cwd=None):
        full = self.argv(argv)
        proc = subprocess.Popen(full, stdin=stdin, stdout=stdout, stderr=stderr,
                                env=dict(env) if env is not None else None, cwd=cwd)
        self.state.add_process(ProcRef.of(proc.pid), self.name, list(argv))
        return proc

    def run(self, argv, *, input=None, timeout=None, env=None, cwd=None):
        return subprocess.run(self.argv(argv), input=input, capture_output=True,
                              timeout=timeout, env=dict(env) if env is not None else None,
                              cwd=cwd)


class LabHost(_Recorded):
    """A lab host: programs run in its namespace through `mnexec -a PID`."""

    def __init__(self, node: Node, pid: int, state: LabState):
        self.node = node
        self.name = node.name
        self.pid = pid
        self.state = state

    @property
    def address(self) -> str | None:
        ip = self.node.primary_address
        return str(ip) if ip else None

    def argv(self, argv) -> list[str]:
        return ["mnexec", "-a", str(self.pid), *argv]


class OuterRunner(_Recorded):
    """The lab's outer namespace, where bridges and relays live."""

    def __init__(self, netns: str, state: LabState):
        self.name = "outer"
        self.netns = netns
        self.state = state

    def argv(self, argv) -> list[str]:
        return ["nsenter", f"--net=/run/netns/{self.netns}", "--", *argv]
