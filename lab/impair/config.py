"""The relay's JSON config: what the lab engine writes, what the relay reads.

    {
      "interfaces": {"a": "ra", "b": "rb"},        # frames from a go out of b
      "names": {"a": "client", "b": "server"},     # endpoint names for directions
      "impairments": {"a->b": {Impairment fields}, "b->a": {...}},
      "faults": [{"drop": {"match": {"tcp": "syn"}, "count": 1}}],  # scenario syntax
      "seed": 1,
      "fault_log": "run/impair/faults.jsonl",      # one line per fault that fires
      "event_log": null,                           # or a path: one line per random event
      "stats": "run/impair/stats.json",            # written on exit
      "ready": "run/impair/ready",                 # created once the sockets are bound
      "realtime": true                             # SCHED_FIFO if the system allows it
    }

Faults stay in scenario syntax so the relay re-validates them with the same
parser; impairments are stored as their parsed numbers (ns, bit/s, %).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping

from lab.errors import InputError
from lab.impair.faults import Fault, parse_faults
from lab.impair.params import Impairment


@dataclass(frozen=True)
class RelayConfig:
    a_if: str
    b_if: str
    a_to_b: Impairment = Impairment()
    b_to_a: Impairment = Impairment()
    fault_specs: tuple[Any, ...] = ()
    a_name: str = "a"
    b_name: str = "b"
    seed: int = 0
    fault_log: str | None = None
    event_log: str | None = None
    stats: str | None = None
    ready: str | None = None
    realtime: bool = True
    faults: tuple[Fault, ...] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        parsed = parse_faults(list(self.fault_specs) or None, self.a_name, self.b_name)
        object.__setattr__(self, "faults", parsed)

    @property
    def labels(self) -> tuple[str, str]:
        return f"{self.a_name}->{self.b_name}", f"{self.b_name}->{self.a_name}"

    def to_json(self) -> dict[str, Any]:
        return {
            "interfaces": {"a": self.a_if, "b": self.b_if},
            "names": {"a": self.a_name, "b": self.b_name},
            "impairments": {"a->b": self.a_to_b.to_json(), "b->a": self.b_to_a.to_json()},
            "faults": list(self.fault_specs),
            "seed": self.seed,
            "fault_log": self.fault_log,
            "event_log": self.event_log,
            "stats": self.stats,
            "ready": self.ready,
            "realtime": self.realtime,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "RelayConfig":
        try:
            imps = data.get("impairments", {})
            names = data.get("names", {})
            return cls(
                a_if=data["interfaces"]["a"], b_if=data["interfaces"]["b"],
                a_to_b=Impairment.from_json(imps.get("a->b", {})),
                b_to_a=Impairment.from_json(imps.get("b->a", {})),
                fault_specs=tuple(data.get("faults", ())),
                a_name=names.get("a", "a"), b_name=names.get("b", "b"),
                seed=data.get("seed", 0),
                fault_log=data.get("fault_log"), event_log=data.get("event_log"),
                stats=data.get("stats"), ready=data.get("ready"),
                realtime=bool(data.get("realtime", True)),
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise InputError(f"relay config is malformed: {exc!r}") from None

    def write(self, path: str) -> None:
        with open(path, "w") as fh:
            json.dump(self.to_json(), fh, indent=2)

    @classmethod
    def load(cls, path: str) -> "RelayConfig":
        try:
            with open(path) as fh:
                data = json.load(fh)
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read relay config {path}: {exc}") from None
        return cls.from_json(data)
