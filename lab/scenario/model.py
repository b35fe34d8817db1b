"""A scenario as frozen data (one matrix cell). Nothing here touches the system."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lab.errors import Location
from lab.model.topology import Topology


@dataclass(frozen=True)
class CertSpec:
    """A credential issued by the run's PKI (lab.pki)."""

    name: str
    names: tuple[str, ...] = ()      # hostname first (CN), then more SANs
    key: str = "rsa2048"
    variant: str = "good"            # a lab.pki.variants name
    intermediate: bool = False
    client: bool = False             # a client certificate for mutual TLS
    where: Location | None = field(default=None, compare=False)


@dataclass(frozen=True)
class ServerDef:
    name: str
    host: str
    impl: str
    port: int = 4433
    cert: str = "server"
    versions: tuple[str, ...] = ("1.2", "1.3")
    ciphers: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    response: bytes = b"hello from tlslab\n"
    client_auth: bool = False
    tickets: bool = True
    where: Location | None = field(default=None, compare=False)


@dataclass(frozen=True)
class ClientDef:
    name: str
    host: str
    impl: str
    server: str
    sni: str | None = None
    verify: bool = True
    trust: str = "ca"                # ca | ca+attacker | none
    pin: str | None = None           # "server" (pin the server cert's key) or base64
    versions: tuple[str, ...] = ("1.2", "1.3")
    ciphers: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    send: bytes | None = None
    cert: str | None = None          # a CertSpec with client: true
    connections: int = 1
    resume: bool = False
    timeout: float = 10.0
    where: Location | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Step:
    """One action on the timeline: start, run, wait, stop, exec, link."""

    action: str
    target: str | None = None        # server, client or host name; link number for `link`
    seconds: float = 0.0
    argv: tuple[str, ...] = ()
    impairments: tuple[Any, ...] = ()  # for `link`: the new (a->b, b->a)
    where: Location | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Expectation:
    """One check: `subject` is a client name or 'captures'; `value` is what
    the user wrote, already parsed (a bool, str, tuple of str, or Range)."""

    subject: str
    name: str
    value: Any
    where: Location | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Range:
    low: float
    high: float
    unit: str = ""

    def __contains__(self, value: float) -> bool:
        return self.low <= value <= self.high

    def __str__(self) -> str:
        if self.low == self.high:
            return f"{self.low:g}{self.unit}"
        return f"{self.low:g}{self.unit}..{self.high:g}{self.unit}"


@dataclass(frozen=True)
class MitmDef:
    """The attack the scenario's mitm node runs (lab.mitm), from the first
    client run to the end of the steps."""

    host: str
    mode: str
    config: Any                      # lab.mitm.MitmConfig
    where: Location | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Scenario:
    name: str
    path: str
    topology: Topology
    certs: tuple[CertSpec, ...]
    servers: tuple[ServerDef, ...]
    clients: tuple[ClientDef, ...]
    steps: tuple[Step, ...]
    expectations: tuple[Expectation, ...]
    seed: int = 1
    mitm: MitmDef | None = None
    cell: tuple[tuple[str, Any], ...] = ()   # matrix values of this cell
    description: str = ""

    @property
    def cell_id(self) -> str:
        return ",".join(f"{k}={v}" for k, v in self.cell)

    def server(self, name: str) -> ServerDef:
        return next(s for s in self.servers if s.name == name)

    def client(self, name: str) -> ClientDef:
        return next(c for c in self.clients if c.name == name)
