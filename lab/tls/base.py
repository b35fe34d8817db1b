"""The interface every TLS implementation module provides, and what they share:
log files, readiness polling, process handles.

An implementation declares what it cannot do by returning reasons from
`server_gaps(spec)` / `client_gaps(spec)`; `supports()` and the `check_*`
methods are derived from those, so the interop matrix and direct callers see
the same refusal with the same words.
"""
from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import IO, ClassVar

from lab.errors import InputError, LabFailure
from lab.net.runner import HostRunner
from lab.tls.roles import ClientSpec, Outcome, ServerSpec

POLL_INTERVAL = 0.05


def open_log(log_dir: str | os.PathLike, host: str, process: str) -> tuple[Path, IO[bytes]]:
    """`<log_dir>/<host>-<process>.log`, or -2, -3... if that name is taken."""
    d = Path(log_dir)
    d.mkdir(parents=True, exist_ok=True)
    path = d / f"{host}-{process}.log"
    n = 2
    while path.exists():
        path = d / f"{host}-{process}-{n}.log"
        n += 1
    return path, open(path, "wb")


def is_listening(runner: HostRunner, port: int) -> bool:
    """Asks the host's own network namespace (via the runner), never ours."""
    done = runner.run(["ss", "-Hltn", f"sport = :{port}"], timeout=5)
    return done.returncode == 0 and bool(done.stdout.strip())


def read_outcomes(text: str) -> list[Outcome]:
    """Agents print one JSON Outcome per line among their other log lines."""
    found = []
    for line in text.splitlines():
        if line.startswith("{") and '"implementation"' in line:
            found.append(Outcome.from_json(json.loads(line)))
    return found


def prepare_keylog(spec: ServerSpec | ClientSpec) -> None:
    """Tools append to the key log but will not create its directory."""
    if spec.keylog:
        Path(spec.keylog).parent.mkdir(parents=True, exist_ok=True)


def stop_process(proc: subprocess.Popen, grace: float = 2.0) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class ServerHandle:
    """A started server process; `stop()` is idempotent."""

    def __init__(self, impl: "Implementation", runner: HostRunner, spec: ServerSpec,
                 proc: subprocess.Popen, log_path: Path, log_file: IO[bytes]):
        self.impl, self.runner, self.spec = impl, runner, spec
        self.proc, self.log_path, self._log_file = proc, log_path, log_file

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_ready(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise LabFailure(f"{self.impl.name} server exited with {self.proc.returncode} "
                                 f"before listening on port {self.spec.port}; see {self.log_path}:\n"
                                 + self.log_tail())
            if is_listening(self.runner, self.spec.port):
                return
            time.sleep(POLL_INTERVAL)
        raise LabFailure(f"{self.impl.name} server not listening on port {self.spec.port} "
                         f"after {timeout}s; see {self.log_path}")

    def stop(self) -> None:
        stop_process(self.proc)
        if not self._log_file.closed:
            self._log_file.close()

    def log_text(self) -> str:
        if not self._log_file.closed:
            self._log_file.flush()
        return self.log_path.read_text(errors="replace")

    def log_tail(self, lines: int = 15) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def outcomes(self) -> list[Outcome] | None:
        """Per-connection outcomes as the server saw them, or None if it cannot say."""
        return self.impl.server_outcomes(self.log_text())

    def __enter__(self) -> "ServerHandle":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


class Implementation:
    name: ClassVar[str]
    roles: ClassVar[frozenset[str]] = frozenset({"client", "server"})

    # --- what it can do --------------------------------------------------
    def server_gaps(self, spec: ServerSpec) -> list[str]:
        return []

    def client_gaps(self, spec: ClientSpec) -> list[str]:
        return []

    def supports(self, variant, role: str) -> str | None:
        """None if this implementation can play `role` in `variant`, else why not."""
        if role not in self.roles:
            return f"{self.name} has no {role} role"
        # Representative specs: paths need not exist, only the options matter.
        server, client = variant.specs(port=1, cert="c.pem", key="k.pem", ca="ca.pem",
                                       client_cert="cc.pem", client_key="ck.pem")
        gaps = self.server_gaps(server) if role == "server" else self.client_gaps(client)
        return "; ".join(gaps) if gaps else None

    def check_server(self, spec: ServerSpec) -> None:
        self._check("server", self.server_gaps(spec))

    def check_client(self, spec: ClientSpec) -> None:
        self._check("client", self.client_gaps(spec))

    def _check(self, role: str, gaps: list[str]) -> None:
        if role not in self.roles:
            raise InputError(f"{self.name} cannot act as a {role}; it supports: {', '.join(sorted(self.roles))}")
        if gaps:
            raise InputError(f"{self.name} {role}: " + "; ".join(gaps))

    # --- running ---------------------------------------------------------
    def start_server(self, runner: HostRunner, spec: ServerSpec, log_dir: str) -> ServerHandle:
        raise NotImplementedError

    def run_client(self, runner: HostRunner, spec: ClientSpec, log_dir: str,
                   timeout: float = 10.0) -> list[Outcome]:
        raise NotImplementedError

    def server_outcomes(self, log_text: str) -> list[Outcome] | None:
        return None


def name_gaps(spec: ServerSpec | ClientSpec) -> list[str]:
    """Names every implementation must know before translating them."""
    from lab.tls.names import GROUPS, SUITES, suite
    gaps = [f"unknown cipher suite {c!r}; supported: {', '.join(s.iana for s in SUITES)}"
            for c in spec.ciphers if suite(c) is None or suite(c).iana != c]
    gaps += [f"unknown group {g!r}; supported: {', '.join(GROUPS.values())}"
             for g in spec.groups if g not in GROUPS.values()]
    return gaps
