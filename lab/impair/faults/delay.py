"""delay: hold matching packets back by `by` more; later packets may overtake them."""
from __future__ import annotations

from dataclasses import dataclass

from lab.errors import InputError
from lab.impair.faults.base import Fault, register
from lab.impair.units import parse_duration


@register
@dataclass(frozen=True)
class Delay(Fault):
    kind = "delay"
    params = ("by",)
    by_ns: int = 0

    @classmethod
    def parse_params(cls, spec, what, where):
        if "by" not in spec:
            raise InputError(f"{what}: needs 'by', the extra delay (e.g. by: 500ms)", where)
        by = parse_duration(spec["by"], f"{what}.by", where)
        if not by:
            raise InputError(f"{what}.by: must be more than 0", where)
        return {"by_ns": by}

    def apply(self, action, rng) -> None:
        action.delay_ns += self.by_ns

    def describe(self):
        return {"by_ms": self.by_ns / 1e6}
