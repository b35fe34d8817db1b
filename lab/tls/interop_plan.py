"""How the interop matrix is laid out in one lab, as pure data.

Each server, variant and certificate becomes one Slot: a server process on
its own port, with the cells whose clients run against it one after another.
Distinct ports let several slots listen at once; running a slot's clients in
order lets each client's connections be matched to the server's own report
of them (the server logs connections in the order it accepts them).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from lab.errors import InputError
from lab.tls.interop import Cell
from lab.tls.interop_spoof import SPOOF_VARIANT, SpoofCell
from lab.tls.roles import Outcome

DEFAULT_BASE_PORT = 20000
# Outcome note on a cell run twice because the harness, not TLS, failed.
RERUN_NOTE = "run again: the CLI wrapper lost the tool's output (BrokenPipeError on its stdin)"


@dataclass(frozen=True)
class Slot:
    server: str
    variant: str                        # lab.tls.variants name
    spoof: str | None                   # lab.pki variant the server presents; None: the good cert
    port: int
    cells: tuple[Cell | SpoofCell, ...]

    @property
    def name(self) -> str:
        return f"{self.server}-{self.variant}" if self.spoof is None else f"{self.server}-spoof-{self.spoof}"


def select(cells: Sequence, pattern: str | None) -> list:
    """Cells whose slug contains `pattern` (all of them without one)."""
    return [c for c in cells if not pattern or pattern in c.slug]


def plan_slots(cells: Sequence[Cell], spoof_cells: Sequence[SpoofCell],
               base_port: int = DEFAULT_BASE_PORT) -> list[Slot]:
    """Group cells by what their server must be, in first-seen order, one port each."""
    groups: dict[tuple[str, str, str | None], list] = {}
    for c in cells:
        groups.setdefault((c.server, c.variant, None), []).append(c)
    for s in spoof_cells:
        groups.setdefault((s.server, SPOOF_VARIANT, s.spoof), []).append(s)
    if base_port < 1 or base_port + len(groups) > 65535:
        raise InputError(f"ports {base_port}..{base_port + len(groups) - 1} are outside 1..65535")
    return [Slot(server, v, spoof, base_port + i, tuple(members))
            for i, ((server, v, spoof), members) in enumerate(groups.items())]


def split_reports(server: list[Outcome] | None,
                  clients: list[list[Outcome] | None]) -> list[list[Outcome] | None]:
    """Cut a server's reports (in accept order) into each client run's share:
    one per connection that reached the server. Every share is None when the
    server reports nothing, or when the counts or the completed handshakes do
    not line up, since then no report can be matched to its client with certainty."""
    shares = [0 if c is None else sum(o.error_class != "connect_failed" for o in c) for c in clients]
    if server is None or len(server) != sum(shares):
        return [None] * len(clients)
    out, at = [], 0
    for n, client in zip(shares, clients):
        share = server[at:at + n]
        at += n
        # Counts can add up by chance; a connection both sides completed must agree.
        if client and any(c.connected and (not s.connected or s.version != c.version)
                          for c, s in zip(client, share)):
            return [None] * len(clients)
        out.append(share)
    return out
