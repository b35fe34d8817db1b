"""Cross-checks over a whole parsed topology; pure, no system access.

Like `containerlab validate`: every mistake a build would trip over later is
found here first, with the place in the file that causes it.
"""
from __future__ import annotations

import ipaddress
from collections import defaultdict

from lab.errors import InputError
from lab.kinds import get_kind
from lab.model.topology import Link, Node, Topology

MAX_HOPS = 32


def check_topology(topology: Topology) -> None:
    nodes = {n.name: n for n in topology.nodes}
    _check_addresses_unique(topology)
    _check_links(topology, nodes)
    segments = segments_of(topology)
    _check_segments(topology, segments)
    _check_routes(topology)
    for src, dst in topology.reach:
        problem = path_problem(topology, segments, src, dst)
        if problem:
            raise InputError(f"no route from {src} to {dst}: {problem}", nodes[src].where)


def _check_addresses_unique(topology: Topology) -> None:
    seen: dict[ipaddress.IPv4Address, str] = {}
    for node in topology.nodes:
        for intf in node.interfaces:
            if intf.address is None:
                continue
            ip = intf.address.ip
            if ip in seen:
                raise InputError(f"duplicate address {ip}: already used by {seen[ip]}", intf.where)
            seen[ip] = f"{node.name}:{intf.name}"


def _check_links(topology: Topology, nodes: dict[str, Node]) -> None:
    used: dict[tuple[str, str], Link] = {}
    for link in topology.links:
        if link.a.node == link.b.node:
            raise InputError(f"link connects {link.a.node} to itself", link.where)
        for end in (link.a, link.b):
            node = nodes.get(end.node)
            if node is None:
                known = ", ".join(sorted(nodes))
                raise InputError(f"link endpoint '{end}' names no node; nodes are: {known}",
                                 link.where)
            kind = get_kind(node.kind)
            if kind.is_switch:
                continue
            if end.interface is None:
                raise InputError(f"link endpoint '{end}' must name an interface of "
                                 f"{node.kind} {node.name} (NODE:INTERFACE)", link.where)
            if node.interface(end.interface) is None:
                known = ", ".join(i.name for i in node.interfaces) or "none"
                raise InputError(f"{node.name} has no interface '{end.interface}'; "
                                 f"its interfaces: {known}", link.where)
            key = (end.node, end.interface)
            if key in used:
                raise InputError(f"interface {end} is already on the link at line "
                                 f"{used[key].where.line if used[key].where else '?'}",
                                 link.where)
            used[key] = link
        if link.subnet is not None:
            for end in (link.a, link.b):
                intf = nodes[end.node].interface(end.interface) if end.interface else None
                if intf and intf.address and intf.address.ip not in link.subnet:
                    raise InputError(f"address {intf.address} of {end} is outside the "
                                     f"link's subnet {link.subnet}", link.where)
    for node in topology.nodes:
        for intf in node.interfaces:
            if (node.name, intf.name) not in used:
                raise InputError(f"interface {node.name}:{intf.name} is on no link; "
                                 "add a link or remove the interface", intf.where)


class Segment:
    """One layer-2 broadcast domain: a switch cluster or a point-to-point link."""

    def __init__(self) -> None:
        self.members: list[tuple[Node, str]] = []  # (node, interface name)

    def addresses(self):
        for node, name in self.members:
            intf = node.interface(name)
            if intf and intf.address:
                yield node, intf


def segments_of(topology: Topology) -> list[Segment]:
    nodes = {n.name: n for n in topology.nodes}
    switches = {n.name for n in topology.nodes if get_kind(n.kind).is_switch}
    parent = {s: s for s in switches}

    def find(s: str) -> str:
        while parent[s] != s:
            parent[s] = parent[parent[s]]
            s = parent[s]
        return s

    for link in topology.links:
        if link.a.node in switches and link.b.node in switches:
            parent[find(link.a.node)] = find(link.b.node)
    by_root: dict[str, Segment] = defaultdict(Segment)
    segments: list[Segment] = []
    for link in topology.links:
        ends = [e for e in (link.a, link.b) if e.node not in switches]
        sw = [e.node for e in (link.a, link.b) if e.node in switches]
        if sw:
            seg = by_root[find(sw[0])]
        else:
            seg = Segment()
            segments.append(seg)
        seg.members.extend((nodes[e.node], e.interface) for e in ends)
    return segments + list(by_root.values())


def _check_segments(topology: Topology, segments: list[Segment]) -> None:
    for seg in segments:
        addressed = list(seg.addresses())
        if not addressed:
            continue
        first_node, first = addressed[0]
        for node, intf in addressed[1:]:
            if intf.address.ip not in first.address.network:
                raise InputError(
                    f"address {intf.address} of {node.name}:{intf.name} is outside its link's "
                    f"subnet {first.address.network} (from {first_node.name}:{first.name})",
                    intf.where)


def _check_routes(topology: Topology) -> None:
    for node in topology.nodes:
        connected = [i.address.network for i in node.interfaces if i.address]
        for route in node.routes:
            if not any(route.via in net for net in connected):
                raise InputError(f"gateway {route.via} of {node.name} is not on any of its "
                                 "subnets; a gateway must be directly connected", route.where)


def _next_hop(node: Node, dest: ipaddress.IPv4Address):
    """Longest-prefix match over connected subnets and static routes."""
    best = None
    for intf in node.interfaces:
        if intf.address and dest in intf.address.network:
            cand = (intf.address.network.prefixlen, dest, intf.name)
            best = max(best, cand, key=lambda c: c[0]) if best else cand
    for route in node.routes:
        if dest in route.dest and (best is None or route.dest.prefixlen > best[0]):
            out = next(i.name for i in node.interfaces
                       if i.address and route.via in i.address.network)
            best = (route.dest.prefixlen, route.via, out)
    return best


def path_problem(topology: Topology, segments: list[Segment], src: str, dst: str) -> str | None:
    """Why packets from src cannot reach dst and come back, or None if they can."""
    nodes = {n.name: n for n in topology.nodes}
    a, b = nodes[src], nodes[dst]
    if a.primary_address is None or b.primary_address is None:
        side = src if a.primary_address is None else dst
        return f"{side} has no address"
    for frm, to in ((a, b), (b, a)):
        problem = _walk(segments, nodes, frm, to.primary_address)
        if problem:
            return problem
    return None


def _walk(segments, nodes, start: Node, dest) -> str | None:
    node = start
    for _ in range(MAX_HOPS):
        if any(i.address and i.address.ip == dest for i in node.interfaces):
            return None
        if node is not start and not node.forwarding:
            return f"{node.name} would have to forward packets to {dest}, but forwarding is off"
        hop = _next_hop(node, dest)
        if hop is None:
            return f"{node.name} has no route to {dest}"
        _, gateway, out = hop
        seg = next(s for s in segments if (node, out) in s.members)
        owner = next((n for n, i in seg.addresses() if i.address.ip == gateway), None)
        if owner is None:
            return f"nothing on {node.name}:{out}'s segment has address {gateway}"
        node = owner
    return f"routing loop towards {dest}"
