"""Running a CLI TLS tool under lab.tls.agents.cliwrap and reading back its
time-stamped output. `ToolRun` is plain data so parsers can be tested on
committed fixtures."""
from __future__ import annotations

import base64
import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from lab.net.runner import HostRunner
from lab.tls.agents.common import agent_env
from lab.tls.base import open_log, stop_process

WRAPPER = "lab.tls.agents.cliwrap"


@dataclass
class ToolRun:
    rc: int | None = None
    timed_out: bool = False
    stdout: list[tuple[float, bytes]] = field(default_factory=list)
    stderr: list[tuple[float, bytes]] = field(default_factory=list)

    @classmethod
    def from_record(cls, obj: dict) -> "ToolRun":
        def chunks(name):
            return [(float(t), base64.b64decode(b)) for t, b in obj.get(name, [])]
        return cls(obj.get("rc"), bool(obj.get("timed_out")), chunks("stdout"), chunks("stderr"))

    @classmethod
    def from_text(cls, stdout: bytes = b"", stderr: bytes = b"", rc: int = 0) -> "ToolRun":
        """For tests: all output at t=0."""
        return cls(rc, False, [(0.0, stdout)] if stdout else [], [(0.0, stderr)] if stderr else [])

    def out(self) -> bytes:
        return b"".join(c for _, c in self.stdout)

    def err(self) -> bytes:
        return b"".join(c for _, c in self.stderr)

    def time_at(self, stream: str, offset: int) -> float | None:
        """When the byte at `offset` of `stream` arrived."""
        seen = 0
        for t, chunk in getattr(self, stream):
            seen += len(chunk)
            if offset < seen:
                return t
        return None

    def time_of(self, stream: str, marker: bytes) -> float | None:
        """When the end of the first occurrence of `marker` arrived."""
        pos = (self.out() if stream == "stdout" else self.err()).find(marker)
        return None if pos < 0 else self.time_at(stream, pos + len(marker) - 1)


def run_tool(runner: HostRunner, argv: list[str], *, stdin: bytes, timeout: float,
             log_dir: str, process: str, env: Mapping[str, str] | None = None,
             cwd: str | None = None) -> ToolRun:
    path, log = open_log(log_dir, runner.name, process)
    record = path.with_suffix(".json")
    args = json.dumps({"argv": argv, "stdin": base64.b64encode(stdin).decode(),
                       "timeout": timeout, "record": str(record)})
    full_env = agent_env()
    full_env.update(env or {})
    with log:
        log.write(("$ " + " ".join(argv) + "\n").encode())
        log.flush()
        proc = runner.popen([sys.executable, "-m", WRAPPER, args], stdout=log,
                            stderr=subprocess.STDOUT, env=full_env, cwd=cwd)
        try:
            proc.wait(timeout + 10)
        except subprocess.TimeoutExpired:
            stop_process(proc)
    if not record.exists():
        return ToolRun(rc=proc.returncode, timed_out=True)
    return ToolRun.from_record(json.loads(Path(record).read_text()))
