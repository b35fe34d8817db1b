"""YAML scalars with explicit units: durations, rates and percentages.

Units are required (a bare `10` could mean ms or s) except for zero, which
means the same in every unit. tc's `mbps` means megabytes per second, a
classic trap, so only the unambiguous `bit` units are accepted for rates.
"""
from __future__ import annotations

import re
from typing import Any

from lab.errors import InputError, Location

DURATION_UNITS = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000}
RATE_UNITS = {"bit": 1, "kbit": 1_000, "mbit": 1_000_000, "gbit": 1_000_000_000}

_NUMBER = re.compile(r"^\s*(?P<sign>[-+]?)(?P<num>\d+(?:\.\d*)?|\.\d+)\s*(?P<unit>[A-Za-z%]*)\s*$")


def _split(value: Any, what: str, example: str, where: Location | None) -> tuple[float, str]:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise InputError(f"{what}: {value!r} is not a value with a unit; write it like {example}",
                         where)
    m = _NUMBER.match(str(value))
    if not m:
        raise InputError(f"{what}: cannot read {value!r}; write it like {example}", where)
    number = float(m["num"])
    if m["sign"] == "-" and number != 0:
        raise InputError(f"{what}: {value!r} is negative; it must be zero or more", where)
    return number, m["unit"]


def parse_duration(value: Any, what: str, where: Location | None = None) -> int:
    """'10ms', '1.5s', '250us' -> nanoseconds."""
    number, unit = _split(value, what, "10ms, 250us or 1.5s", where)
    if not unit:
        if number == 0:
            return 0
        raise InputError(f"{what}: {value!r} needs a unit (us, ms or s), e.g. {value}ms", where)
    if unit not in DURATION_UNITS:
        raise InputError(f"{what}: unknown unit {unit!r} in {value!r}; use us, ms or s", where)
    return round(number * DURATION_UNITS[unit])


def parse_rate(value: Any, what: str, where: Location | None = None) -> int:
    """'10mbit', '512kbit', '1gbit' -> bits per second (never 0)."""
    number, unit = _split(value, what, "10mbit, 512kbit or 1gbit", where)
    if not unit:
        raise InputError(f"{what}: {value!r} needs a unit (bit, kbit, mbit or gbit)", where)
    scale = RATE_UNITS.get(unit.lower())
    if scale is None:
        raise InputError(f"{what}: unknown unit {unit!r} in {value!r}; use bit, kbit, mbit or "
                         "gbit (bits per second)", where)
    bps = round(number * scale)
    if bps <= 0:
        raise InputError(f"{what}: {value!r} would stop all traffic; give a rate above 0 or "
                         "leave the rate out for an unlimited link", where)
    return bps


def parse_percent(value: Any, what: str, where: Location | None = None) -> float:
    """'5%', '0.1%' -> 5.0, 0.1 (percent, 0..100)."""
    number, unit = _split(value, what, "5% or 0.1%", where)
    if not unit:
        if number == 0:
            return 0.0
        raise InputError(f"{what}: {value!r} needs a % sign, e.g. {value}%", where)
    if unit != "%":
        raise InputError(f"{what}: unknown unit {unit!r} in {value!r}; give a percentage "
                         "like 5%", where)
    if number > 100:
        raise InputError(f"{what}: {value!r} is over 100%", where)
    return number


def parse_count(value: Any, what: str, where: Location | None = None, minimum: int = 1) -> int:
    """A whole number of packets or events."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"{what}: {value!r} is not a whole number", where)
    if value < minimum:
        raise InputError(f"{what}: {value!r} must be at least {minimum}", where)
    return value


def parse_window(value: Any, what: str, where: Location | None = None) -> tuple[int, int]:
    """'1s..3s' -> (start_ns, end_ns), end after start."""
    text = str(value) if isinstance(value, str) else None
    if text is None or text.count("..") != 1:
        raise InputError(f"{what}: cannot read {value!r}; write a time window like 1s..3s", where)
    lo, hi = (parse_duration(part, what, where) for part in text.split(".."))
    if hi <= lo:
        raise InputError(f"{what}: {value!r} ends before it starts", where)
    return lo, hi


def format_duration(ns: int) -> str:
    """Nanoseconds -> the shortest exact tc duration ('10ms', '1500us')."""
    for unit, scale in DURATION_UNITS.items():
        if ns % scale == 0:
            return f"{ns // scale}{unit}"
    return f"{ns / 1000:g}us"
