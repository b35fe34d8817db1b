"""The record of everything a lab created, so teardown and `tlslab clean`
remove exactly that, even after the runner died with SIGKILL.

The record is written to the live-lab registry (/run/tlslab/labs/<id>.json,
on tmpfs, so it goes away with a reboot just as namespaces do) and copied to
the run directory. It is rewritten after every resource is created.
"""
from __future__ import annotations

import json
import os
import secrets
import threading
import time
from dataclasses import dataclass, field

from lab.net.procs import ProcRef

REGISTRY = os.environ.get("TLSLAB_REGISTRY", "/run/tlslab/labs")
NETNS_PREFIX = "tlslab-"


@dataclass
class LabState:
    lab_id: str
    topology: str
    run_dir: str
    owner: ProcRef
    created: float = field(default_factory=time.time)
    outer_netns: str | None = None
    netns_inodes: dict[str, int] = field(default_factory=dict)  # node or "outer" -> inode
    shells: dict[str, dict] = field(default_factory=dict)  # node -> ProcRef json
    processes: list[dict] = field(default_factory=list)  # ProcRef json + what it is
    interfaces: list[str] = field(default_factory=list)  # in the outer namespace
    undo: list[dict] = field(default_factory=list)  # host changes to revert (ARP, rules)
    status: str = "building"

    @classmethod
    def new(cls, topology: str, run_dir: str) -> "LabState":
        return cls(lab_id=secrets.token_hex(4), topology=topology, run_dir=run_dir,
                   owner=ProcRef.of(os.getpid()))

    @property
    def registry_path(self) -> str:
        return os.path.join(REGISTRY, f"{self.lab_id}.json")

    def to_json(self) -> dict:
        return {
            "lab_id": self.lab_id, "topology": self.topology, "run_dir": self.run_dir,
            "owner": self.owner.to_json(), "created": self.created,
            "outer_netns": self.outer_netns, "netns_inodes": self.netns_inodes,
            "shells": self.shells, "processes": self.processes,
            "interfaces": self.interfaces, "undo": self.undo, "status": self.status,
        }

    @classmethod
    def from_json(cls, data: dict) -> "LabState":
        owner = ProcRef(**data["owner"])
        fields = {k: v for k, v in data.items() if k != "owner"}
        return cls(owner=owner, **fields)

    def save(self) -> None:
        # Runners on several threads record processes at once (interop, pings).
        with _SAVE_LOCK:
            payload = json.dumps(self.to_json(), indent=1)
            os.makedirs(REGISTRY, exist_ok=True)
            _atomic_write(self.registry_path, payload)
            if os.path.isdir(self.run_dir):
                _atomic_write(os.path.join(self.run_dir, "lab-state.json"), payload)

    def forget(self) -> None:
        """Drop the registry entry; the run directory keeps its copy."""
        try:
            os.unlink(self.registry_path)
        except FileNotFoundError:
            pass

    def add_process(self, ref: ProcRef, host: str, argv: list[str]) -> None:
        self.processes.append({**ref.to_json(), "host": host, "argv": argv[:8]})
        self.save()


_SAVE_LOCK = threading.Lock()


def _atomic_write(path: str, payload: str) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as fh:
        fh.write(payload)
    os.replace(tmp, path)


def registered() -> list[LabState]:
    """Every lab in the registry, alive or left behind by a crash."""
    if not os.path.isdir(REGISTRY):
        return []
    labs = []
    for name in sorted(os.listdir(REGISTRY)):
        if not name.endswith(".json"):
            continue
        try:
            with open(os.path.join(REGISTRY, name)) as fh:
                labs.append(LabState.from_json(json.load(fh)))
        except (OSError, ValueError, TypeError, KeyError):
            continue  # half-written or foreign; clean reports it by name
    return labs
