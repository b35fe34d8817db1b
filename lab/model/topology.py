"""A topology as frozen data: nodes, interfaces, routes and links.

Built by lab.config.topology from YAML; built into a real network by lab.net.
Nothing here touches the system.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from lab.errors import Location

IPv4If = ipaddress.IPv4Interface
IPv4Net = ipaddress.IPv4Network


@dataclass(frozen=True)
class Interface:
    name: str
    address: IPv4If | None
    where: Location | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Route:
    dest: IPv4Net
    via: ipaddress.IPv4Address
    where: Location | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Node:
    name: str
    kind: str
    interfaces: tuple[Interface, ...] = ()
    routes: tuple[Route, ...] = ()
    forwarding: bool = False
    options: tuple[tuple[str, Any], ...] = ()
    where: Location | None = field(default=None, compare=False)

    def interface(self, name: str) -> Interface | None:
        return next((i for i in self.interfaces if i.name == name), None)

    def option(self, name: str, default: Any = None) -> Any:
        return dict(self.options).get(name, default)

    @property
    def primary_address(self) -> ipaddress.IPv4Address | None:
        return next((i.address.ip for i in self.interfaces if i.address), None)


@dataclass(frozen=True)
class Endpoint:
    node: str
    interface: str | None  # None: a switch port, named by the engine

    def __str__(self) -> str:
        return f"{self.node}:{self.interface}" if self.interface else self.node


@dataclass(frozen=True)
class Link:
    a: Endpoint
    b: Endpoint
    subnet: IPv4Net | None = None
    # Per-direction impairments (a->b, b->a) as lab.impair.params.Impairment,
    # and scripted faults in their YAML form (validated by lab.impair.faults,
    # re-parsed by the relay); both empty when the link is a plain wire.
    impairments: tuple[Any, ...] = ()
    faults: tuple[Any, ...] = ()
    # A scenario step changes this link while it runs, so it needs an engine
    # even if it starts out as a plain wire.
    dynamic: bool = False
    where: Location | None = field(default=None, compare=False)

    @property
    def impaired(self) -> bool:
        return any(self.impairments) or bool(self.faults) or self.dynamic


@dataclass(frozen=True)
class Topology:
    name: str
    nodes: tuple[Node, ...]
    links: tuple[Link, ...]
    switch: str = "linux-bridge"
    engine: str | None = None  # None: chosen automatically
    reach: tuple[tuple[str, str], ...] = ()
    path: str = "<inline>"
    description: str = ""

    def node(self, name: str) -> Node:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)

    def nodes_of(self, *kinds: str) -> tuple[Node, ...]:
        return tuple(n for n in self.nodes if n.kind in kinds)
