"""What every attack mode shares: a handle whose stop() reverts everything.

Resources are registered on an ExitStack as they are created and released
in reverse. A change that outlives its process (a sysctl, a NAT table, a
poisoned ARP cache, a port mirror) is written to lab.state.undo *before* it
is made, so a crash leaves a record lab.mitm.revert can revert; stop() reverts
it and drops the record.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from contextlib import ExitStack
from typing import ClassVar

from lab.errors import LabFailure
from lab.mitm.config import MitmConfig, to_json
from lab.mitm.targets import mitm_node
from lab.mitm.revert import ns_of_pid, undo
from lab.tls.agents.common import agent_env
from lab.tls.base import is_listening, stop_process


def work_dir(run_dir: str, mode: str) -> str:
    """<run_dir>/mitm/<mode>[-n]: a fresh directory per started attack."""
    base = os.path.join(run_dir, "mitm", mode)
    path, n = base, 1
    while os.path.exists(path):
        n += 1
        path = f"{base}-{n}"
    os.makedirs(path)
    return path


class MitmHandle:
    mode: ClassVar[str] = ""

    def __init__(self, lab, host: str, config: MitmConfig, run_dir: str):
        self.lab = lab
        self.node = mitm_node(lab.topology, host)
        self.host = host
        self.runner = lab.host(host)
        self.config = config
        self.dir = work_dir(run_dir, self.mode)
        self.problems: list[str] = []
        self.processes: list[subprocess.Popen] = []
        self.started = self.stopped = None
        self._stack = ExitStack()
        self._done = False

    # --- lifecycle -----------------------------------------------------------
    def start(self) -> "MitmHandle":
        self.started = time.time()
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Idempotent; reverts in reverse order of creation."""
        if self._done:
            return
        self._done = True
        try:
            self._stack.close()
        finally:
            self.stopped = time.time()

    @property
    def active(self) -> bool:
        return self.started is not None and not self._done

    def report(self) -> dict:
        return {"mode": self.mode, "host": self.host, "config": to_json(self.config),
                "dir": self.dir, "active": self.active, "started": self.started,
                "stopped": self.stopped, "problems": list(self.problems), **self._report()}

    def __enter__(self) -> "MitmHandle":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- for the modes -------------------------------------------------------
    def _start(self) -> None:
        raise NotImplementedError

    def _report(self) -> dict:
        return {}

    def ns(self, host: str | None = None) -> dict:
        return ns_of_pid(self.lab.host(host or self.host).pid)

    def changing(self, record: dict) -> None:
        """Record a change before making it; stop() reverts it and drops the record."""
        state = self.lab.state
        state.undo.append(record)
        state.save()

        def revert() -> None:
            problems = undo(record)
            if problems:
                self.problems += problems
                return
            if record in state.undo:
                state.undo.remove(record)
                state.save()
        self._stack.callback(revert)

    def run(self, argv: list[str], input: bytes | None = None, host: str | None = None) -> str:
        runner = self.lab.host(host) if host else self.runner
        done = runner.run(argv, input=input, timeout=15)
        if done.returncode != 0:
            raise LabFailure(f"{' '.join(argv)} on {runner.name} failed: "
                             f"{done.stderr.decode(errors='replace').strip()}")
        return done.stdout.decode()

    def spawn(self, module: str, opts: dict, name: str) -> subprocess.Popen:
        """Start `python -m module '<json>'` on the mitm, logging to the work dir."""
        import json
        log = open(os.path.join(self.dir, f"{name}.log"), "wb")
        self._stack.callback(log.close)
        proc = self.runner.popen([sys.executable, "-m", module, json.dumps(opts)],
                                 stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                 env=agent_env())
        self._stack.callback(stop_process, proc, 5.0)
        self.processes.append(proc)
        return proc

    def wait_listening(self, proc: subprocess.Popen, port: int, name: str,
                       timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while not is_listening(self.runner, port):
            if proc.poll() is not None or time.monotonic() > deadline:
                with open(os.path.join(self.dir, f"{name}.log"), errors="replace") as fh:
                    tail = fh.read()[-1500:]
                raise LabFailure(f"mitm {name} did not start listening on port {port}:\n{tail}")
            time.sleep(0.05)
