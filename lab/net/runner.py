"""Running programs on a host: the one interface every tool driver uses.

A `HostRunner` starts argv lists (never shell strings) in some network
namespace. Inside a lab that is a Mininet host (see lab.net.lab); outside one,
`LocalRunner` runs on this machine, which unit tests and loopback benchmarks use.
"""
from __future__ import annotations

import subprocess
from typing import IO, Mapping, Protocol, Sequence


class HostRunner(Protocol):
    name: str

    def popen(
        self,
        argv: Sequence[str],
        *,
        stdin: int | IO | None = None,
        stdout: int | IO | None = None,
        stderr: int | IO | None = None,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
    ) -> subprocess.Popen:
        """Start argv on this host. The process is recorded and killed at teardown."""
        ...

    def run(
        self,
        argv: Sequence[str],
        *,
        input: bytes | None = None,
        timeout: float | None = None,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
    ) -> subprocess.CompletedProcess:
        """Run argv to completion, capturing stdout and stderr as bytes."""
        ...


class LocalRunner:
    """Runs on this machine, in the caller's namespace."""

    def __init__(self, name: str = "local", address: str = "127.0.0.1"):
        self.name = name
        self.address = address
        self.processes: list[subprocess.Popen] = []

    def popen(self, argv, *, stdin=None, stdout=None, stderr=None, env=None, cwd=None):
        proc = subprocess.Popen(
            list(argv), stdin=stdin, stdout=stdout, stderr=stderr,
            env=dict(env) if env is not None else None, cwd=cwd,
        )
        self.processes.append(proc)
        return proc

    def run(self, argv, *, input=None, timeout=None, env=None, cwd=None):
        return subprocess.run(
            list(argv), input=input, capture_output=True, timeout=timeout,
            env=dict(env) if env is not None else None, cwd=cwd,
        )

    def close(self) -> None:
        for proc in self.processes:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
