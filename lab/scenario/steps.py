"""The scenario's timeline: steps, and the links they change."""
from __future__ import annotations

import dataclasses

from lab.config.topology import parse_link_effects
from lab.config.yamlsrc import Reader
from lab.model.topology import Topology
from lab.scenario.model import Step
from lab.scenario.roles import host_of
from lab.scenario.units import parse_seconds

STEP_ACTIONS = {"start", "run", "stop", "wait", "exec", "link"}


def find_link(topo: Topology, reader: Reader) -> int:
    ends = [e.text("endpoint") for e in reader.sequence("endpoints")]
    wanted = {e.split(":")[0] for e in ends}
    match = [i for i, l in enumerate(topo.links) if {l.a.node, l.b.node} == wanted]
    if len(ends) != 2 or not match:
        raise reader.error(f"no link between {' and '.join(ends)} in topology '{topo.name}'")
    return match[0]


def mark_dynamic(topo: Topology, steps) -> Topology:
    changed = {int(s.target) for s in steps if s.action == "link"}
    if not changed:
        return topo
    links = tuple(dataclasses.replace(l, dynamic=True) if i in changed else l
                  for i, l in enumerate(topo.links))
    return dataclasses.replace(topo, links=links)


def steps(reader: Reader | None, servers, clients, hosts, topo) -> tuple[Step, ...]:
    if reader is None:  # default: start every server, run every client in order, stop
        return tuple([Step("start", s.name) for s in servers] +
                     [Step("run", c.name) for c in clients])
    names = {"start": {s.name for s in servers}, "stop": {s.name for s in servers},
             "run": {c.name for c in clients}}
    out = []
    for item in reader.sequence("steps"):
        f = item.mapping("a step", STEP_ACTIONS)
        if len(f) != 1:
            raise item.error(f"a step is exactly one of: {', '.join(sorted(STEP_ACTIONS))}")
        (action, value), = f.items()
        if action == "wait":
            out.append(Step("wait", seconds=parse_seconds(value), where=item.where))
        elif action == "link":
            g = value.mapping("link", {"endpoints", "impair"})
            if "endpoints" not in g or "impair" not in g:
                raise value.error("a link step needs 'endpoints' and the new 'impair'")
            index = find_link(topo, g["endpoints"])
            link = topo.links[index]
            impairments, _ = parse_link_effects({"impair": g["impair"]}, link.a.node, link.b.node)
            out.append(Step("link", target=str(index), impairments=impairments, where=item.where))
        elif action == "exec":
            g = value.mapping("exec", {"host", "argv"})
            argv = tuple(a.string("argv item") for a in g["argv"].sequence("argv")) \
                if "argv" in g else ()
            if not argv:
                raise value.error("exec needs 'argv', a non-empty list")
            out.append(Step("exec", target=host_of(g, hosts, value), argv=argv, where=item.where))
        else:
            target = value.text(action)
            if target not in names[action]:
                raise value.error(f"'{action}: {target}' names no "
                                  f"{'client' if action == 'run' else 'server'} of this scenario")
            out.append(Step(action, target, where=item.where))
    return tuple(out)
