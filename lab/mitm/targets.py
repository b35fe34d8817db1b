"""Safety: every address an attack touches must belong to a host of this lab.

Pure checks against the parsed Topology; nothing here touches the system.
A victim is named by host or by one of its addresses; anything else (a
machine outside the lab, the mitm itself, a switch) is refused with InputError.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from lab.errors import InputError
from lab.model.topology import Node, Topology

MITM_KIND = "mitm"


@dataclass(frozen=True)
class Victim:
    host: str
    address: str           # the victim's IPv4 address the attack uses
    interface: str         # the victim's own interface holding it
    mitm_interface: str | None  # the mitm's interface on the same subnet, if any


def mitm_node(topology: Topology, name: str) -> Node:
    mitms = [n.name for n in topology.nodes if n.kind == MITM_KIND]
    try:
        node = topology.node(name)
    except KeyError:
        raise InputError(f"no node {name!r} in lab {topology.name!r}; mitm nodes: "
                         f"{', '.join(mitms) or 'none'}") from None
    if node.kind != MITM_KIND:
        raise InputError(f"node {name!r} is a {node.kind}, not a mitm; mitm nodes: "
                         f"{', '.join(mitms) or 'none'}")
    return node


def lab_addresses(topology: Topology) -> dict[str, tuple[str, str]]:
    """Every host address in the lab -> (host, interface)."""
    out = {}
    for node in topology.nodes:
        for intf in node.interfaces:
            if intf.address is not None:
                out[str(intf.address.ip)] = (node.name, intf.name)
    return out


def resolve_victims(topology: Topology, mitm: str, names: tuple[str, ...],
                    adjacent: bool) -> tuple[Victim, ...]:
    """Victims as lab addresses; adjacent=True (ARP spoofing) also requires
    each to share a subnet with one of the mitm's interfaces."""
    me = mitm_node(topology, mitm)
    addresses = lab_addresses(topology)
    out: list[Victim] = []
    for name in names:
        host, intf = _locate(topology, me, addresses, name)
        node = topology.node(host)
        address = node.interface(intf).address
        mine = next((i.name for i in me.interfaces
                     if i.address is not None and address.ip in i.address.network), None)
        if adjacent and mine is None:
            raise InputError(f"victim {name!r} ({address.ip}) is not on a subnet the mitm "
                             f"{mitm!r} is attached to; ARP spoofing only reaches its own segment")
        out.append(Victim(host, str(address.ip), intf, mine))
    hosts = [v.host for v in out]
    if len(set(hosts)) != len(hosts):
        raise InputError(f"mitm victims name the same host twice: {list(names)}")
    return tuple(out)


def check_interfaces(node: Node, names: tuple[str, ...]) -> tuple[str, ...]:
    """The mitm interfaces to tap: the named ones (which must exist), or all."""
    known = [i.name for i in node.interfaces]
    bad = [n for n in names if n not in known]
    if bad:
        raise InputError(f"mitm {node.name!r} has no interface {bad[0]!r}; it has: {', '.join(known)}")
    return tuple(names) or tuple(known)


def _locate(topology: Topology, me: Node, addresses: dict, name: str) -> tuple[str, str]:
    try:
        ip = ipaddress.IPv4Address(name)
    except ValueError:
        ip = None
    if ip is not None:
        if str(ip) not in addresses:
            raise InputError(f"refusing to target {ip}: not an address of a host in lab "
                             f"{topology.name!r} (lab addresses: {', '.join(sorted(addresses))})")
        host, intf = addresses[str(ip)]
    else:
        try:
            node = topology.node(name)
        except KeyError:
            hosts = [n.name for n in topology.nodes if n.interfaces]
            raise InputError(f"refusing to target {name!r}: no such host in lab "
                             f"{topology.name!r} (hosts: {', '.join(hosts)})") from None
        mine = [i.address.network for i in me.interfaces if i.address is not None]
        usable = [i for i in node.interfaces if i.address is not None]
        if not usable:
            raise InputError(f"refusing to target {name!r}: it has no address (a switch?)")
        # The address on the mitm's segment when there is one, else the first.
        near = [i for i in usable if any(i.address.ip in net for net in mine)]
        host, intf = name, (near or usable)[0].name
    if host == me.name:
        raise InputError(f"refusing to target {name!r}: it is the mitm itself")
    return host, intf
