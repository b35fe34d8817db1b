"""Scenario YAML -> one frozen `Scenario` per matrix cell, strictly.

A matrix (`matrix: {impl: [openssl, gnutls]}`) expands into one scenario per
combination; `${impl}` anywhere in a string value is replaced by the cell's
value before parsing, so every error still names the line it came from.
"""
from __future__ import annotations

import copy
import itertools
import os
import re

import yaml

from lab.config import checks
from lab.config.topology import parse_link_effects, parse_topology
from lab.config.yamlsrc import Reader, compose, read_text
from lab.errors import InputError
from lab.kinds import get_kind
from lab.model.topology import Topology
from lab.scenario import expect as expect_mod
from lab.scenario.model import Scenario
from lab.scenario.roles import certs, client, items, mitm, server
from lab.scenario.steps import find_link, mark_dynamic, steps

TOP_KEYS = {"name", "description", "topology", "links", "seed", "pki", "servers", "clients",
            "steps", "expect", "matrix", "mitm"}
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def is_scenario(path: str, text: str | None = None) -> bool:
    """Scenario files name a topology; topology files have nodes."""
    node = compose(path, text)
    return isinstance(node, yaml.MappingNode) and any(
        k.value == "topology" for k, _ in node.value)


def load_scenarios(path: str, text: str | None = None) -> list[Scenario]:
    text = read_text(path) if text is None else text
    root = Reader(path, compose(path, text))
    top = root.mapping("a scenario", TOP_KEYS)
    cells = _matrix_cells(top.get("matrix"))
    scenarios = []
    for cell in cells:
        node = _substitute(copy.deepcopy(root.node), dict(cell), path)
        scenarios.append(_parse(Reader(path, node), cell))
    return scenarios


def _matrix_cells(reader: Reader | None) -> list[tuple[tuple[str, object], ...]]:
    if reader is None:
        return [()]
    axes = []
    for name, values in reader.mapping("matrix").items():
        items = values.sequence(f"matrix '{name}'")
        if not items:
            raise values.error(f"matrix '{name}' is empty; list at least one value")
        axes.append([(name, v.scalar()) for v in items])
    return [tuple(combo) for combo in itertools.product(*axes)]


def _substitute(node: yaml.Node, cell: dict, path: str) -> yaml.Node:
    if isinstance(node, yaml.ScalarNode):
        def repl(m: re.Match) -> str:
            if m.group(1) not in cell:
                raise InputError(f"'${{{m.group(1)}}}' is not a matrix variable; "
                                 f"matrix variables: {', '.join(cell) or 'none'}",
                                 Reader(path, node).where)
            return str(cell[m.group(1)])
        if node.tag.endswith(":str") and "${" in node.value:
            whole = _VAR.fullmatch(node.value)
            node.value = _VAR.sub(repl, node.value)
            if whole:  # "${n}" alone takes the value's own type (3 stays a number)
                node.tag = yaml.SafeLoader("").resolve(yaml.ScalarNode, node.value, (True, False))
    elif isinstance(node, yaml.SequenceNode):
        node.value = [_substitute(n, cell, path) for n in node.value]
    elif isinstance(node, yaml.MappingNode):
        node.value = [(k, _substitute(v, cell, path)) for k, v in node.value
                      if not (k.value == "matrix")]
    return node


def _parse(root: Reader, cell) -> Scenario:
    top = root.mapping("a scenario", TOP_KEYS)
    for required in ("name", "topology", "clients"):
        if required not in top:
            raise root.error(f"missing key '{required}' in scenario")
    name = top["name"].text("scenario name")
    topology = _topology(top["topology"], top.get("links"))
    hosts = {n.name for n in topology.nodes if not get_kind(n.kind).is_switch}
    issued = certs(top.get("pki"))
    servers = tuple(server(n, r, hosts, issued) for n, r in items(top.get("servers"), "servers"))
    clients = tuple(client(n, r, hosts, servers, issued)
                    for n, r in items(top["clients"], "clients"))
    if not clients:
        raise top["clients"].error("clients is empty; a scenario runs at least one client")
    _check_paths(topology, servers, clients, top["clients"])
    timeline = steps(top.get("steps"), servers, clients, hosts, topology)
    topology = mark_dynamic(topology, timeline)
    attack = mitm(top.get("mitm"), topology)
    expectations = expect_mod.parse(top.get("expect"), clients, attack is not None)
    seed = top["seed"].integer("seed", minimum=0) if "seed" in top else 1
    description = top["description"].text("description") if "description" in top else ""
    return Scenario(name=name, path=root.path, topology=topology, certs=issued, servers=servers,
                    clients=clients, steps=timeline, expectations=expectations, seed=seed, mitm=attack,
                    cell=tuple(cell), description=description)


def _topology(reader: Reader, overrides: Reader | None) -> Topology:
    if reader.is_mapping():
        topo = parse_topology(reader)
    else:
        rel = reader.text("topology")
        path = os.path.normpath(os.path.join(os.path.dirname(reader.path), rel))
        if not os.path.isfile(path):
            raise reader.error(f"topology file '{rel}' not found (looked for {path}); "
                               "paths are relative to the scenario file")
        topo = parse_topology(Reader(path, compose(path)))
    if overrides is not None:
        topo = _override_links(topo, overrides)
    checks.check_topology(topo)
    return topo


def _override_links(topo: Topology, reader: Reader) -> Topology:
    """Scenario `links:` entries replace the impairments/faults of topology links."""
    import dataclasses

    links = list(topo.links)
    for item in reader.sequence("links"):
        fields = item.mapping("a link override", {"endpoints", "impair", "faults"})
        if "endpoints" not in fields:
            raise item.error("a link override needs 'endpoints' naming a topology link")
        i = find_link(topo, fields["endpoints"])
        impairments, faults = parse_link_effects(fields, links[i].a.node, links[i].b.node)
        links[i] = dataclasses.replace(links[i], impairments=impairments or links[i].impairments,
                                       faults=faults or links[i].faults)
    return dataclasses.replace(topo, links=tuple(links))


def _check_paths(topology, servers, clients, where: Reader) -> None:
    """Every client must be able to reach its server, and back."""
    segments = checks.segments_of(topology)
    for c in clients:
        target = next(s for s in servers if s.name == c.server)
        problem = checks.path_problem(topology, segments, c.host, target.host)
        if problem:
            raise InputError(f"client {c.name} cannot reach server {target.name}: {problem}",
                             c.where)
