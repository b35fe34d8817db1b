"""duplicate: send matching packets `copies` extra times (default once)."""
from __future__ import annotations

from dataclasses import dataclass

from lab.impair.faults.base import Fault, register
from lab.impair.units import parse_count


@register
@dataclass(frozen=True)
class Duplicate(Fault):
    kind = "duplicate"
    params = ("copies",)
    copies: int = 1

    @classmethod
    def parse_params(cls, spec, what, where):
        if "copies" in spec:
            return {"copies": parse_count(spec["copies"], f"{what}.copies", where)}
        return {}

    def apply(self, action, rng) -> None:
        action.copies += self.copies
