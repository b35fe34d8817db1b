"""The fault interface, the per-frame `Action` faults edit, and the registry.

A fault is a frozen dataclass: where it applies (direction, match, count,
after) plus its kind's parameters. `apply` edits an `Action`; the pipeline
turns the action into releases. Kinds register by name with `@register`.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, ClassVar, Mapping

from lab.errors import InputError, Location
from lab.impair.faults.match import Match, parse_match
from lab.impair.units import parse_count

REGISTRY: dict[str, type["Fault"]] = {}


def register(cls: type["Fault"]) -> type["Fault"]:
    REGISTRY[cls.kind] = cls
    return cls


class Action:
    """What the faults that fired decided for one frame (mutable scratch)."""

    __slots__ = ("frame", "drop", "delay_ns", "copies", "hold")

    def __init__(self, frame: bytes):
        self.frame = frame
        self.drop = False
        self.delay_ns = 0
        self.copies = 0               # extra copies
        self.hold: tuple[int | None, int | None] | None = None  # (packets, ns)


@dataclass(frozen=True)
class Fault:
    kind: ClassVar[str]
    params: ClassVar[tuple[str, ...]] = ()  # the kind's own keys
    timed: ClassVar[bool] = False  # acts on every frame in a time window, not on matches

    match: Match = Match()
    direction: str | None = None  # "x->y" with the link's endpoint names; None: both
    count: int | None = None      # fire at most this often per direction
    after: int = 0                # let this many matching packets pass first

    @classmethod
    def normalise(cls, spec: Any, what: str, where: Location | None) -> Any:
        """Expand a shorthand (e.g. `down: 1s..3s`) into the settings mapping."""
        return spec

    @classmethod
    def parse_params(cls, spec: Mapping[str, Any], what: str,
                     where: Location | None) -> dict[str, Any]:
        """The kind's own parameters as constructor arguments."""
        return {}

    def fires(self, seen: int, fired: int) -> bool:
        """Given the `seen`-th matching packet and `fired` earlier firings."""
        if self.match.nth is not None:
            return seen == self.match.nth
        return seen > self.after and (self.count is None or fired < self.count)

    def active(self, now_ns: int) -> bool:
        return True

    def apply(self, action: Action, rng: random.Random) -> None:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """Extra fields for this fault's log lines."""
        return {}


COMMON = ("match", "direction", "count", "after")


def _direction(value: Any, a: str, b: str, what: str, where: Location | None) -> str:
    allowed = (f"{a}->{b}", f"{b}->{a}")
    if value not in allowed:
        raise InputError(f"{what}.direction: {value!r} is not a direction of this link; use "
                         f"{' or '.join(allowed)} (or leave it out for both)", where)
    return value


def parse_fault(entry: Any, a: str, b: str, what: str, where: Location | None) -> Fault:
    """One list entry `{kind: {params}}` (or `{down: 1s..3s}`) -> a Fault."""
    kinds = ", ".join(sorted(REGISTRY))
    if not isinstance(entry, Mapping) or len(entry) != 1:
        raise InputError(f"{what}: a fault is one kind with its settings, e.g. "
                         f"'drop: {{match: {{tcp: syn}}, count: 1}}'; kinds: {kinds}", where)
    (name, spec), = entry.items()
    cls = REGISTRY.get(name)
    if cls is None:
        raise InputError(f"{what}: unknown fault kind {name!r}; known: {kinds}", where)
    what = f"{what} ({name})"
    spec = cls.normalise(spec, what, where)
    if spec is None:
        spec = {}
    if not isinstance(spec, Mapping):
        raise InputError(f"{what}: settings must be a mapping, not {spec!r}", where)
    allowed = cls.params + (("direction",) if cls.timed else COMMON)
    unknown = [k for k in spec if k not in allowed]
    if unknown:
        raise InputError(f"{what}: unknown key {unknown[0]!r}; known: {', '.join(allowed)}",
                         where)
    args: dict[str, Any] = cls.parse_params(spec, what, where)
    if "direction" in spec:
        args["direction"] = _direction(spec["direction"], a, b, what, where)
    if not cls.timed:
        args["match"] = parse_match(spec.get("match"), f"{what}.match", where)
        if "count" in spec:
            args["count"] = parse_count(spec["count"], f"{what}.count", where)
        if "after" in spec:
            args["after"] = parse_count(spec["after"], f"{what}.after", where, minimum=0)
        if args["match"].nth is not None and ("count" in spec or "after" in spec):
            raise InputError(f"{what}: match.nth picks one packet; it cannot be combined "
                             "with count or after", where)
    return cls(**args)


def parse_faults(specs: Any, a: str, b: str, where: Location | None = None) -> tuple[Fault, ...]:
    """A link's `faults:` list -> Faults, in order (they are applied in this order)."""
    if specs is None:
        return ()
    if not isinstance(specs, (list, tuple)):
        raise InputError(f"faults must be a list, not {specs!r}", where)
    return tuple(parse_fault(entry, a, b, f"faults[{i}]", where) for i, entry in enumerate(specs))
