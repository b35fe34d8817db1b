"""corrupt: invert one byte of the payload of matching packets.

Without `fix_checksum` the receiver's TCP/UDP checksum catches it (like
line noise); with it the bytes reach the application, so TLS sees a bad
record MAC. `offset` picks the payload byte; default: a seeded random one.
"""
from __future__ import annotations

from dataclasses import dataclass

from lab.errors import InputError
from lab.impair.faults.base import Fault, register
from lab.impair.mangle import corrupt
from lab.impair.units import parse_count


@register
@dataclass(frozen=True)
class Corrupt(Fault):
    kind = "corrupt"
    params = ("offset", "fix_checksum")
    offset: int | None = None
    fix_checksum: bool = False

    @classmethod
    def parse_params(cls, spec, what, where):
        args = {}
        if "offset" in spec:
            args["offset"] = parse_count(spec["offset"], f"{what}.offset", where, minimum=0)
        if "fix_checksum" in spec:
            if not isinstance(spec["fix_checksum"], bool):
                raise InputError(f"{what}.fix_checksum: must be true or false, not "
                                 f"{spec['fix_checksum']!r}", where)
            args["fix_checksum"] = spec["fix_checksum"]
        return args

    def apply(self, action, rng) -> None:
        action.frame = corrupt(action.frame, rng.random(), fix_checksum=self.fix_checksum,
                               offset=self.offset)
