"""Durations and ranges as scenario files write them: 50ms, 1.5s, 0..2, 100ms..300ms."""
from __future__ import annotations

import re

from lab.config.yamlsrc import Reader
from lab.scenario.model import Range

_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0}
_DURATION = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*(us|ms|s)\s*$")


def seconds_of(text: str) -> float | None:
    m = _DURATION.match(text)
    return float(m.group(1)) * _UNITS[m.group(2)] if m else None


def parse_seconds(reader: Reader) -> float:
    text = reader.string("duration")
    value = seconds_of(text)
    if value is None:
        raise reader.error(f"bad duration '{text}'; write a number with us, ms or s, like 500ms")
    return value


def parse_range(reader: Reader, duration: bool) -> Range:
    """`3`, `0..2`, or for durations `100ms..300ms` (stored in seconds)."""
    text = reader.string("range").strip()
    low, sep, high = text.partition("..")
    parts = [low, high if sep else low]
    values = []
    for part in parts:
        if duration:
            v = seconds_of(part)
        else:
            try:
                v = float(part)
            except ValueError:
                v = None
        if v is None:
            kind = "durations like 100ms..300ms" if duration else "numbers like 0..2"
            raise reader.error(f"bad range '{text}'; write {kind}")
        values.append(v)
    if values[0] > values[1]:
        raise reader.error(f"range '{text}' runs backwards")
    return Range(values[0], values[1], "s" if duration else "")
