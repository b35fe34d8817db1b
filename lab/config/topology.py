"""Topology YAML -> frozen `Topology`, strictly, with file:line:col errors.

Parsing (this module) reads each key once into the model; the cross-checks
that need the whole graph live in lab.config.checks.
"""
from __future__ import annotations

import ipaddress
import re

from lab.config import checks
from lab.config.yamlsrc import Reader, compose
from lab.errors import InputError
from lab.kinds import get_kind
from lab.model.topology import Endpoint, Interface, Link, Node, Route, Topology

TOP_KEYS = {"name", "description", "switch", "engine", "nodes", "links", "reach"}
LINK_KEYS = {"endpoints", "subnet", "impair", "faults"}
SWITCH_IMPLS = ("linux-bridge", "ovs")
ENGINES = ("netem", "relay")

# Node names become parts of interface names (at most 15 bytes in Linux), so
# they stay short and plain.
NODE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,9}$")
INTF_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.]{0,14}$")


def load_topology(path: str, text: str | None = None) -> Topology:
    root = Reader(path, compose(path, text))
    topology = parse_topology(root)
    checks.check_topology(topology)
    return topology


def parse_topology(root: Reader) -> Topology:
    top = root.mapping("a topology", TOP_KEYS)
    for required in ("name", "nodes"):
        if required not in top:
            raise root.error(f"missing key '{required}' in topology")
    name = top["name"].text("topology name")
    switch = _choice(top, "switch", SWITCH_IMPLS, "linux-bridge")
    engine = _choice(top, "engine", ENGINES, None)
    nodes = tuple(_parse_node(n, r) for n, r in top["nodes"].mapping("nodes").items())
    if not nodes:
        raise top["nodes"].error("nodes is empty; a topology needs at least one node")
    links = tuple(_parse_link(r) for r in top["links"].sequence("links")) if "links" in top else ()
    reach = _parse_reach(top.get("reach"), nodes)
    description = top["description"].text("description") if "description" in top else ""
    return Topology(name=name, nodes=nodes, links=links, switch=switch, engine=engine,
                    reach=reach, path=root.path, description=description)


def _choice(top: dict[str, Reader], key: str, allowed: tuple[str, ...], default):
    if key not in top:
        return default
    value = top[key].text(key)
    if value not in allowed:
        raise top[key].error(f"{key} must be one of {', '.join(allowed)}, not '{value}'")
    return value


def _parse_node(name: str, reader: Reader) -> Node:
    if not NODE_NAME.match(name):
        raise reader.error(f"node name '{name}' must start with a letter and be at most "
                           "10 letters, digits or '_'")
    fields = reader.mapping(f"node '{name}'")
    if "kind" not in fields:
        raise reader.error(f"node '{name}' needs a kind")
    kind = get_kind(fields["kind"].text("kind"), fields["kind"].where)
    reader.mapping(f"node '{name}' (kind {kind.name})", set(kind.keys))
    interfaces = ()
    if "interfaces" in fields:
        interfaces = tuple(_parse_interface(n, r)
                           for n, r in fields["interfaces"].mapping("interfaces").items())
    routes = tuple(_parse_route(r) for r in fields["routes"].sequence("routes")) \
        if "routes" in fields else ()
    forwarding = fields["forwarding"].boolean("forwarding") \
        if "forwarding" in fields else kind.forwards_by_default
    options = (("stp", fields["stp"].boolean("stp")),) if "stp" in fields else ()
    return Node(name=name, kind=kind.name, interfaces=interfaces, routes=routes,
                forwarding=forwarding, options=options, where=reader.where)


def _parse_interface(name: str, reader: Reader) -> Interface:
    if not INTF_NAME.match(name):
        raise reader.error(f"interface name '{name}' must start with a letter and be at most "
                           "15 letters, digits, '_' or '.'")
    if reader.is_scalar() and reader.node.tag.endswith(":null"):
        return Interface(name, None, reader.where)
    text = reader.text(f"address of interface {name}")
    return Interface(name, parse_interface_address(reader, text), reader.where)


def parse_interface_address(reader: Reader, text: str) -> ipaddress.IPv4Interface:
    if "/" not in text:
        raise reader.error(f"address '{text}' needs a prefix length, like 10.0.0.1/24")
    try:
        address = ipaddress.IPv4Interface(text)
    except ValueError as exc:
        raise reader.error(f"bad address '{text}': {exc}") from None
    if address.network.prefixlen < 31 and address.ip in (
            address.network.network_address, address.network.broadcast_address):
        raise reader.error(f"address '{text}' is the network or broadcast address of its subnet")
    if not address.ip.is_private or address.ip.is_loopback or address.ip.is_multicast:
        raise reader.error(f"address '{text}' is not a private unicast address; lab "
                           "addresses must be private (10/8, 172.16/12, 192.168/16)")
    return address


def _parse_network(reader: Reader, what: str) -> ipaddress.IPv4Network:
    text = reader.string(what)
    if text == "default":
        return ipaddress.IPv4Network("0.0.0.0/0")
    try:
        return ipaddress.IPv4Network(text)
    except ValueError as exc:
        raise reader.error(f"bad {what} '{text}': {exc}") from None


def _parse_route(reader: Reader) -> Route:
    fields = reader.mapping("a route", {"to", "via"})
    for key in ("to", "via"):
        if key not in fields:
            raise reader.error(f"route needs '{key}'")
    dest = _parse_network(fields["to"], "route destination")
    via_text = fields["via"].string("route gateway")
    try:
        via = ipaddress.IPv4Address(via_text)
    except ValueError:
        raise fields["via"].error(f"bad gateway address '{via_text}'") from None
    return Route(dest, via, reader.where)


def _parse_endpoint(reader: Reader) -> Endpoint:
    text = reader.text("link endpoint")
    node, _, intf = text.partition(":")
    if not node or (":" in text and not intf):
        raise reader.error(f"bad endpoint '{text}'; write NODE:INTERFACE, or SWITCH")
    return Endpoint(node, intf or None)


def _parse_link(reader: Reader) -> Link:
    fields = reader.mapping("a link", LINK_KEYS)
    if "endpoints" not in fields:
        raise reader.error("link needs 'endpoints: [NODE:INTF, NODE:INTF]'")
    ends = fields["endpoints"].sequence("endpoints")
    if len(ends) != 2:
        raise fields["endpoints"].error(f"a link has exactly 2 endpoints, not {len(ends)}")
    a, b = (_parse_endpoint(e) for e in ends)
    subnet = _parse_network(fields["subnet"], "subnet") if "subnet" in fields else None
    impairments, faults = parse_link_effects(fields, a.node, b.node)
    return Link(a=a, b=b, subnet=subnet, impairments=impairments, faults=faults,
                where=reader.where)


def parse_link_effects(fields: dict[str, Reader], a: str, b: str):
    """`impair:` and `faults:` of a link (or of a scenario's link override)."""
    from lab.impair.faults import parse_faults
    from lab.impair.params import parse_link_impairments

    impairments = ()
    if "impair" in fields:
        r = fields["impair"]
        if not r.is_mapping():
            raise r.error(f"impair must be a mapping, not {r.kind_name()}")
        impairments = parse_link_impairments(r.plain(), a, b, r.where)
    faults = ()
    if "faults" in fields:
        r = fields["faults"]
        specs = r.plain()
        try:
            parse_faults(specs, a, b)
        except InputError as exc:
            raise InputError(exc.message, exc.where or r.where) from None
        faults = tuple(specs)
    return impairments, faults


def _parse_reach(reader: Reader | None, nodes: tuple[Node, ...]) -> tuple[tuple[str, str], ...]:
    endpoints = [n.name for n in nodes if get_kind(n.kind).is_endpoint]
    if reader is None or (reader.is_scalar() and reader.scalar() == "all"):
        return tuple((a, b) for a in endpoints for b in endpoints if a != b)
    if reader.is_scalar() and reader.scalar() == "none":
        return ()
    if not reader.is_sequence():
        raise reader.error("reach must be 'all', 'none' or a list of [NODE, NODE] pairs")
    pairs = []
    names = {n.name for n in nodes}
    for item in reader.sequence("reach"):
        pair = item.sequence("a reach pair")
        if len(pair) != 2:
            raise item.error("a reach pair names exactly 2 nodes")
        a, b = (p.text("node name") for p in pair)
        for p, n in zip(pair, (a, b)):
            if n not in names:
                raise p.error(f"reach names unknown node '{n}'")
        pairs.append((a, b))
    return tuple(pairs)
