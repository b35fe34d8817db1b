"""One direction's random impairments: a pure, seeded per-frame decision.

`Scheduler.schedule(now_ns, frame)` returns the (release_ns, frame) pairs to
send: none (dropped), one, or two (duplicated). The steps follow netem's
enqueue: duplicate, then loss (which cancels one copy), corrupt, tail drop
when the rate limiter's queue is full, serialisation at the rate, then delay.

Determinism: every frame draws the same six uniforms in the same order
whenever any random impairment is configured, so the same seed and frame
sequence give the same decisions, and e.g. adding jitter does not shift
which frames are lost. Only the rate queue depends on arrival times.
"""
from __future__ import annotations

import random
from collections import deque
from typing import Callable

from lab.impair.mangle import corrupt
from lab.impair.params import Impairment

EVENTS = ("loss", "queue", "corrupt", "duplicate", "reorder")

Release = tuple[int, bytes]


def direction_rng(seed: int | str, direction: str, purpose: str = "") -> random.Random:
    # String seeds hash with SHA-512, so this is stable across processes
    # (unlike hash()) and the two directions get unrelated streams.
    return random.Random(f"{seed}:{direction}:{purpose}")


class Scheduler:
    def __init__(self, imp: Impairment, seed: int | str = 0, direction: str = "a->b",
                 on_event: Callable[[str, bytes], None] | None = None):
        self.imp = imp
        self.on_event = on_event
        self.counts = dict.fromkeys(EVENTS, 0)
        self._rng = direction_rng(seed, direction)
        self._loss = imp.loss / 100
        self._dup = imp.duplicate / 100
        self._corrupt = imp.corrupt / 100
        self._reorder = imp.reorder / 100
        self._random = bool(self._loss or self._dup or self._corrupt or self._reorder
                            or imp.jitter_ns)
        self._last = 0         # latest release so far: jitter never reorders (FIFO)
        self._link_free = 0    # when the rate limiter finishes its backlog
        self._backlog: deque[int] = deque()  # serialisation end of queued frames

    @property
    def fixed_delay(self) -> int | None:
        """The delay in ns if that is all this direction does (the relay's fast path)."""
        return None if self._random or self.imp.rate else self.imp.delay_ns

    def _event(self, kind: str, frame: bytes) -> None:
        self.counts[kind] += 1
        if self.on_event is not None:
            self.on_event(kind, frame)

    def schedule(self, now: int, frame: bytes) -> list[Release]:
        if not self._random:
            return self._release(now, frame, 1.0, 0.5)
        r = self._rng.random
        u_dup, u_loss, u_corrupt, u_pos, u_reorder, u_jitter = r(), r(), r(), r(), r(), r()
        copies = 1
        if u_dup < self._dup:
            copies = 2
            self._event("duplicate", frame)
        if u_loss < self._loss:
            copies -= 1
            self._event("loss", frame)
            if not copies:
                return []
        if u_corrupt < self._corrupt:
            frame = corrupt(frame, u_pos)
            self._event("corrupt", frame)
        out = self._release(now, frame, u_reorder, u_jitter)
        if copies == 2:
            out += self._release(now, frame, u_reorder, u_jitter)
        return out

    def _release(self, now: int, frame: bytes, u_reorder: float, u_jitter: float) -> list[Release]:
        imp = self.imp
        t = now
        if imp.rate:
            backlog = self._backlog
            while backlog and backlog[0] <= now:
                backlog.popleft()
            if len(backlog) >= imp.queue:
                self._event("queue", frame)
                return []
            t = self._link_free = max(now, self._link_free) + len(frame) * 8_000_000_000 // imp.rate
            backlog.append(t)
        if u_reorder < self._reorder:
            # netem: a reordered frame skips the delay and overtakes the queue.
            self._event("reorder", frame)
            return [(t, frame)]
        t += imp.delay_ns
        if imp.jitter_ns:
            t += int((2 * u_jitter - 1) * imp.jitter_ns)
        if t < self._last:
            t = self._last
        self._last = t
        return [(t, frame)]
