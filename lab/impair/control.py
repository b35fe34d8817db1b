"""Starting and stopping a relay on a host, for the lab engine and the testbed.

    handle = start_relay(runner, config, workdir)   # returns once sockets are bound
    ...
    stats = handle.stop()                            # SIGTERM, wait, read stats
    for line in problems(stats): ...                 # impairments that did not happen as set
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace

from lab.errors import LabFailure
from lab.impair.config import RelayConfig
from lab.net.runner import HostRunner

READY_TIMEOUT = 10.0


class RelayHandle:
    def __init__(self, proc: subprocess.Popen, config: RelayConfig, stderr_path: str):
        self.proc = proc
        self.config = config
        self.stderr_path = stderr_path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _stderr(self) -> str:
        try:
            with open(self.stderr_path) as fh:
                return fh.read().strip()
        except OSError:
            return ""

    def stop(self, timeout: float = 10.0) -> dict:
        """End the relay with SIGTERM and return its stats (frames in/out/dropped)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise LabFailure(f"relay (pid {self.pid}) ignored SIGTERM for {timeout}s; "
                                 "killed it") from None
        if self.proc.returncode != 0:
            raise LabFailure(f"relay exited with status {self.proc.returncode}: {self._stderr()}")
        if not self.config.stats:
            return {}
        with open(self.config.stats) as fh:
            return json.load(fh)


def start_relay(runner: HostRunner, config: RelayConfig, workdir: str,
                python: str = sys.executable) -> RelayHandle:
    """Write the config into workdir, start the relay on `runner`, wait until ready."""
    os.makedirs(workdir, exist_ok=True)

    def path(name: str) -> str:
        return os.path.join(workdir, name)

    config = replace(config, ready=config.ready or path("relay.ready"),
                     stats=config.stats or path("relay-stats.json"))
    if os.path.exists(config.ready):
        os.unlink(config.ready)
    config.write(path("relay.json"))
    stderr_path = path("relay.stderr")
    with open(stderr_path, "w") as err:
        proc = runner.popen([python, "-m", "lab.impair.relay", "--config", path("relay.json")],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                            env=_env())
    handle = RelayHandle(proc, config, stderr_path)
    deadline = time.monotonic() + READY_TIMEOUT
    while not os.path.exists(config.ready):
        if proc.poll() is not None:
            raise LabFailure(f"relay failed to start: {handle._stderr() or 'no message'}")
        if time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            raise LabFailure(f"relay did not become ready within {READY_TIMEOUT}s")
        time.sleep(0.01)
    return handle


def problems(stats: dict) -> list[str]:
    """What in a relay's stats means traffic was not impaired exactly as configured."""
    out = []
    for label, d in stats.items():
        if not isinstance(d, dict):
            continue
        if d.get("kernel_drops"):
            out.append(f"{label}: {d['kernel_drops']} frames lost before the relay read them "
                       "(receive ring full: the relay could not keep up)")
        if d.get("truncated"):
            out.append(f"{label}: {d['truncated']} oversized frames not forwarded; turn "
                       "segmentation offloads off on the link's veths")
        if d.get("partial_checksum"):
            out.append(f"{label}: {d['partial_checksum']} frames had checksums left to "
                       "offload and arrived broken; turn tx checksum offload off")
        for name, count in d.get("errors", {}).items():
            out.append(f"{label}: {count} frames failed to send ({name})")
    if str(stats.get("realtime", "yes")).startswith("no"):
        out.append(f"relay ran without real-time priority ({stats['realtime']}); "
                   "delay tails may be longer")
    return out


def _env() -> dict[str, str]:
    # The relay imports lab from this checkout even when run from elsewhere.
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    return env
