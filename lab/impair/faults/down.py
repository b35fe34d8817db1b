"""down: the link is cut for a time window after the lab starts; every frame
(ARP included) in that window is dropped. `down: 1s..3s` or
`down: {window: 1s..3s, direction: a->b}`.
"""
from __future__ import annotations

from dataclasses import dataclass

from lab.errors import InputError
from lab.impair.faults.base import Fault, register
from lab.impair.units import parse_window


@register
@dataclass(frozen=True)
class Down(Fault):
    kind = "down"
    params = ("window",)
    timed = True
    start_ns: int = 0
    end_ns: int = 0

    @classmethod
    def normalise(cls, spec, what, where):
        return {"window": spec} if isinstance(spec, str) else spec

    @classmethod
    def parse_params(cls, spec, what, where):
        if "window" not in spec:
            raise InputError(f"{what}: needs 'window', e.g. window: 1s..3s", where)
        start, end = parse_window(spec["window"], f"{what}.window", where)
        return {"start_ns": start, "end_ns": end}

    def active(self, now_ns: int) -> bool:
        return self.start_ns <= now_ns < self.end_ns

    def apply(self, action, rng) -> None:
        action.drop = True
