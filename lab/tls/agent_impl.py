"""Implementations whose client and server are our own agent scripts
(lab.tls.agents.*), run on the host with the same interpreter as the lab."""
from __future__ import annotations

import subprocess
from typing import ClassVar

from lab.errors import LabFailure
from lab.net.runner import HostRunner
from lab.tls.agents.common import agent_argv, agent_env
from lab.tls.base import (Implementation, ServerHandle, open_log, prepare_keylog, read_outcomes,
                           stop_process)
from lab.tls.roles import ClientSpec, Outcome, ServerSpec

# The agent's own per-socket timeout bounds each connection; this is the slack
# for interpreter start-up on a busy host.
STARTUP_SLACK = 10.0


class AgentImplementation(Implementation):
    module: ClassVar[str]

    def start_server(self, runner: HostRunner, spec: ServerSpec, log_dir: str,
                     timeout: float = 10.0) -> ServerHandle:
        self.check_server(spec)
        prepare_keylog(spec)
        path, log = open_log(log_dir, runner.name, f"{self.name}-server-{spec.port}")
        proc = runner.popen(agent_argv(self.module, "server", spec, timeout),
                            stdout=log, stderr=subprocess.STDOUT, env=agent_env())
        return ServerHandle(self, runner, spec, proc, path, log)

    def run_client(self, runner: HostRunner, spec: ClientSpec, log_dir: str,
                   timeout: float = 10.0) -> list[Outcome]:
        self.check_client(spec)
        prepare_keylog(spec)
        path, log = open_log(log_dir, runner.name, f"{self.name}-client")
        with log:
            proc = runner.popen(agent_argv(self.module, "client", spec, timeout),
                                stdout=log, stderr=subprocess.STDOUT, env=agent_env())
            try:
                proc.wait(timeout * spec.count * 3 + STARTUP_SLACK)
            except subprocess.TimeoutExpired:
                stop_process(proc)
        outcomes = read_outcomes(path.read_text(errors="replace"))
        if not outcomes:
            raise LabFailure(f"{self.name} client reported nothing (exit {proc.returncode}); see {path}")
        # Killed part-way: the missing connections did not finish in time.
        for index in range(len(outcomes), spec.count):
            outcomes.append(Outcome(implementation=self.name, role="client", index=index,
                                    error_class="timeout", error_message="client killed after timeout"))
        return outcomes

    def server_outcomes(self, log_text: str) -> list[Outcome] | None:
        return read_outcomes(log_text)
