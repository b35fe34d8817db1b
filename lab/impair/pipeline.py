"""One direction of an impaired link: scripted faults, then random impairments.

Pure and deterministic like the scheduler: times are nanoseconds since the
relay started, and the relay does all I/O. Each fault that fires and (if
asked) each random event is reported as one JSON-ready dict to `log`.

Order per frame: link-down windows; faults in list order (a drop stops the
rest); the scheduler (loss, corrupt, duplicate, queue, rate, delay, jitter,
reorder); then fault delay, extra copies and holds.
"""
from __future__ import annotations

from typing import Callable, Iterable

from lab.impair import frames
from lab.impair.faults import Action, Fault
from lab.impair.params import Impairment
from lab.impair.scheduler import Release, Scheduler, direction_rng

Log = Callable[[dict], None]


class _Held:
    __slots__ = ("releases", "packets", "deadline")

    def __init__(self, releases: list[Release], packets: int | None, deadline: int | None):
        self.releases, self.packets, self.deadline = releases, packets, deadline


class Direction:
    def __init__(self, label: str, imp: Impairment, faults: Iterable[Fault] = (),
                 seed: int | str = 0, log: Log | None = None, events: Log | None = None):
        self.label = label
        self.frames = 0   # frames seen, the `n` in log lines (1-based)
        self.now = 0
        self.faults = [f for f in faults if f.direction in (None, label)]
        self._seen = [0] * len(self.faults)
        self._fired = [0] * len(self.faults)
        self.fault_counts = {f.kind: 0 for f in self.faults}
        self._rng = direction_rng(seed, label, "faults")
        self._seed = seed
        self._log = log
        self._events = events
        self.held: list[_Held] = []
        self.can_hold = any(f.kind == "hold" for f in self.faults)
        self.scheduler = Scheduler(imp, seed, label, self._on_event if events else None)
        if not self.faults:
            self.process = self._plain  # the hot path: no parsing per frame

    def set_impairment(self, imp: Impairment) -> None:
        """Replace the impairment mid-run (a scenario's link step). Frames
        already scheduled keep their release times; counters carry over."""
        counts = self.scheduler.counts
        self.scheduler = Scheduler(imp, self._seed, self.label,
                                   self._on_event if self._events else None)
        for kind, n in counts.items():
            self.scheduler.counts[kind] = self.scheduler.counts.get(kind, 0) + n

    @property
    def fixed_delay(self) -> int | None:
        """Delay in ns if nothing else happens to frames (lets the relay skip this class)."""
        return None if self.faults else self.scheduler.fixed_delay

    def _on_event(self, kind: str, frame: bytes) -> None:
        self._events({"t": self.now / 1e9, "direction": self.label, "n": self.frames,
                      "event": kind, "packet": frames.summary(frame)})

    def _plain(self, now: int, frame: bytes) -> list[Release]:
        self.frames += 1
        self.now = now
        return self.scheduler.schedule(now, frame)

    def process(self, now: int, frame: bytes) -> list[Release]:
        self.frames += 1
        self.now = now
        pkt = frames.parse(frame)
        action = Action(frame)
        for i, fault in enumerate(self.faults):
            if fault.timed:
                if not fault.active(now):
                    continue
            elif pkt is None or not fault.match.test(pkt):
                continue
            else:
                self._seen[i] += 1
                if not fault.fires(self._seen[i], self._fired[i]):
                    continue
            self._fired[i] += 1
            self.fault_counts[fault.kind] += 1
            fault.apply(action, self._rng)
            if self._log is not None:
                self._log({"t": now / 1e9, "direction": self.label, "n": self.frames,
                           "fault": fault.kind, "index": i, **fault.describe(),
                           "packet": frames.summary(frame)})
            if action.drop:
                return []
        out = self.scheduler.schedule(now, action.frame)
        if out and (action.delay_ns or action.copies):
            out = [(t + action.delay_ns, f) for t, f in out for _ in range(1 + action.copies)]
        if action.hold and out:
            packets, for_ns = action.hold
            self.held.append(_Held(out, packets, now + for_ns if for_ns else None))
            return []
        if out and self.held:
            out += self._passed(max(t for t, _ in out))
        return out

    def _passed(self, t: int) -> list[Release]:
        """A frame went out at t: count it against packet-held frames."""
        out: list[Release] = []
        for held in list(self.held):
            if held.packets is not None:
                held.packets -= 1
                if held.packets <= 0:
                    self.held.remove(held)
                    out += [(max(t, rt), f) for rt, f in held.releases]
        return out

    def next_deadline(self) -> int | None:
        deadlines = [h.deadline for h in self.held if h.deadline is not None]
        return min(deadlines) if deadlines else None

    def expire(self, now: int) -> list[Release]:
        """Frames whose hold time ran out by `now`."""
        out: list[Release] = []
        for held in list(self.held):
            if held.deadline is not None and held.deadline <= now:
                self.held.remove(held)
                out += [(max(held.deadline, rt), f) for rt, f in held.releases]
        return out

    def discard(self) -> int:
        """Drop what is still held (at exit); returns how many frames."""
        n = sum(len(h.releases) for h in self.held)
        self.held.clear()
        return n
