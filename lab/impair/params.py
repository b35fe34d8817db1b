"""Per-direction link impairments, parsed from a link's YAML mapping.

    impair:
      delay: 10ms          # both directions ...
      loss: 1%
      client->server:      # ... or one direction, overriding the shared values
        rate: 10mbit

`parse_link_impairments` returns the two directions (a->b, b->a).
`netem_args` turns one direction into tc argv for kernels that have netem.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any, Mapping

from lab.errors import InputError, Location
from lab.impair.units import (format_duration, parse_count, parse_duration,
                              parse_percent, parse_rate)

DEFAULT_QUEUE = 1000  # packets; netem's default limit


@dataclass(frozen=True)
class Impairment:
    """What one direction of a link does to frames. Percentages are 0..100."""

    delay_ns: int = 0
    jitter_ns: int = 0   # uniform in [delay - jitter, delay + jitter], never reorders
    loss: float = 0.0
    rate: int | None = None   # bit/s of Ethernet frame bytes; None: unlimited
    queue: int = DEFAULT_QUEUE  # packets waiting for `rate`; tail drop beyond
    duplicate: float = 0.0
    reorder: float = 0.0  # netem-style: this share is sent at once, the rest delayed
    corrupt: float = 0.0

    def __post_init__(self) -> None:
        # Direct construction (tests, JSON) gets the same checks as YAML.
        for name in ("delay_ns", "jitter_ns"):
            if getattr(self, name) < 0:
                raise InputError(f"{name} is negative: {getattr(self, name)}")
        for name in ("loss", "duplicate", "reorder", "corrupt"):
            if not 0 <= getattr(self, name) <= 100:
                raise InputError(f"{name} must be within 0..100%: {getattr(self, name)}")
        if self.rate is not None and self.rate <= 0:
            raise InputError(f"rate must be above 0 bit/s: {self.rate}")
        if self.queue < 1:
            raise InputError(f"queue must be at least 1 packet: {self.queue}")
        if self.jitter_ns and not self.delay_ns:
            raise InputError("jitter needs a delay to vary around; add delay")
        if self.reorder and not self.delay_ns:
            raise InputError("reorder needs a delay (reordered packets skip it); add delay")

    @property
    def active(self) -> bool:
        """Does this direction change anything? (queue alone does not.)"""
        return self != Impairment(queue=self.queue)

    # So `any(link.impairments)` asks whether a link is impaired at all.
    __bool__ = active.fget

    def to_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Impairment":
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise InputError(f"unknown impairment fields: {', '.join(sorted(unknown))}")
        return cls(**data)


_PARSERS = {
    "delay": ("delay_ns", parse_duration),
    "jitter": ("jitter_ns", parse_duration),
    "loss": ("loss", parse_percent),
    "rate": ("rate", parse_rate),
    "queue": ("queue", parse_count),
    "duplicate": ("duplicate", parse_percent),
    "reorder": ("reorder", parse_percent),
    "corrupt": ("corrupt", parse_percent),
}
KEYS = tuple(_PARSERS)


def _values(spec: Mapping[str, Any], what: str, where: Location | None) -> dict[str, Any]:
    out = {}
    for key, value in spec.items():
        field_name, parse = _PARSERS[key]
        out[field_name] = parse(value, f"{what} '{key}'", where)
    return out


def _build(values: dict[str, Any], what: str, where: Location | None) -> Impairment:
    try:
        return Impairment(**values)
    except InputError as exc:
        raise InputError(f"{what}: {exc.message}", where) from None


def parse_link_impairments(spec: Mapping[str, Any] | None, a: str, b: str,
                           where: Location | None = None) -> tuple[Impairment, Impairment]:
    """A link's impairment mapping -> (a->b, b->a).

    Shared keys apply both ways; a `a->b` / `b->a` sub-mapping (with the
    endpoint names) overrides them for that direction only.
    """
    if spec is None:
        return Impairment(), Impairment()
    if not isinstance(spec, Mapping):
        raise InputError(f"link impairments must be a mapping of {', '.join(KEYS)}, "
                         f"not {spec!r}", where)
    directions = {f"{a}->{b}": 0, f"{b}->{a}": 1}
    shared: dict[str, Any] = {}
    own: list[dict[str, Any]] = [{}, {}]
    for key, value in spec.items():
        if key in _PARSERS:
            shared[key] = value
        elif key in directions:
            if not isinstance(value, Mapping):
                raise InputError(f"impairments for {key} must be a mapping, not {value!r}", where)
            bad = [k for k in value if k not in _PARSERS]
            if bad:
                raise InputError(f"unknown impairment {bad[0]!r} under {key}; known: "
                                 f"{', '.join(KEYS)}", where)
            own[directions[key]] = dict(value)
        elif isinstance(key, str) and "->" in key:
            raise InputError(f"direction {key!r} does not name this link's ends; use "
                             f"{' or '.join(directions)}", where)
        else:
            raise InputError(f"unknown impairment {key!r}; known: {', '.join(KEYS)}, or a "
                             f"direction {' / '.join(directions)}", where)
    shared_values = _values(shared, "link impairment", where)
    result = []
    for name, index in directions.items():
        values = dict(shared_values)
        values.update(_values(own[index], f"{name} impairment", where))
        result.append(_build(values, f"{name} impairments", where))
    return result[0], result[1]


def _pct(value: float) -> str:
    return f"{value:g}%"


def netem_args(imp: Impairment) -> list[str]:
    """tc argv after `tc qdisc add dev IF root` for a kernel with netem.

    netem's own `rate` (kernel >= 3.3) replaces a tbf child. netem's `limit`
    also counts packets in the delay line, so it is raised by the number of
    full-size frames the delay holds at the configured rate; unlimited links
    get a limit no realistic delay line fills.
    """
    args = ["netem"]
    if imp.delay_ns:
        args += ["delay", format_duration(imp.delay_ns)]
        if imp.jitter_ns:
            args.append(format_duration(imp.jitter_ns))
    if imp.loss:
        args += ["loss", _pct(imp.loss)]
    if imp.duplicate:
        args += ["duplicate", _pct(imp.duplicate)]
    if imp.reorder:
        args += ["reorder", _pct(imp.reorder)]
    if imp.corrupt:
        args += ["corrupt", _pct(imp.corrupt)]
    if imp.rate:
        args += ["rate", f"{imp.rate}bit"]
        in_flight = math.ceil(imp.rate * (imp.delay_ns + imp.jitter_ns) / 1e9 / (1514 * 8))
        limit = imp.queue + in_flight
    else:
        limit = 100_000
    return args + ["limit", str(limit)]
