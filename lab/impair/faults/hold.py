"""hold: keep matching packets back until `packets` later packets in the same
direction have gone out (a reorder), or for `for` (whichever comes first).
"""
from __future__ import annotations

from dataclasses import dataclass

from lab.errors import InputError
from lab.impair.faults.base import Fault, register
from lab.impair.units import parse_count, parse_duration


@register
@dataclass(frozen=True)
class Hold(Fault):
    kind = "hold"
    params = ("packets", "for")
    packets: int | None = None
    for_ns: int | None = None

    @classmethod
    def parse_params(cls, spec, what, where):
        if "packets" not in spec and "for" not in spec:
            raise InputError(f"{what}: needs 'packets' (release after N later packets) "
                             "and/or 'for' (a time, e.g. for: 200ms)", where)
        args = {}
        if "packets" in spec:
            args["packets"] = parse_count(spec["packets"], f"{what}.packets", where)
        if "for" in spec:
            args["for_ns"] = parse_duration(spec["for"], f"{what}.for", where)
            if not args["for_ns"]:
                raise InputError(f"{what}.for: must be more than 0", where)
        return args

    def apply(self, action, rng) -> None:
        action.hold = (self.packets, self.for_ns)

    def describe(self):
        return {"packets": self.packets, "for_ms": self.for_ns and self.for_ns / 1e6}
