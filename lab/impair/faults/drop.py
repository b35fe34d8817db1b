"""drop: discard matching packets, e.g. the first SYN to force a retransmit."""
from __future__ import annotations

from dataclasses import dataclass

from lab.impair.faults.base import Fault, register


@register
@dataclass(frozen=True)
class Drop(Fault):
    kind = "drop"

    def apply(self, action, rng) -> None:
        action.drop = True
