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
from lab.scenario.model import CertSpec, ClientDef, MitmDef, Scenario, ServerDef, Step
from lab.scenario.units import parse_seconds

TOP_KEYS = {"name", "description", "topology", "links", "seed", "pki", "servers", "clients",
            "steps", "expect", "matrix", "mitm"}
CERT_KEYS = {"names", "key", "variant", "intermediate", "client"}
SERVER_KEYS = {"host", "impl", "port", "cert", "versions", "ciphers", "groups", "response",
               "client_auth", "tickets"}
CLIENT_KEYS = {"host", "impl", "server", "sni", "verify", "trust", "pin", "versions", "ciphers",
               "groups", "send", "cert", "connections", "resume", "timeout"}
STEP_ACTIONS = {"start", "run", "stop", "wait", "exec", "link"}
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
    certs = _certs(top.get("pki"))
    servers = tuple(_server(n, r, hosts, certs) for n, r in _items(top.get("servers"), "servers"))
    clients = tuple(_client(n, r, hosts, servers, certs)
                    for n, r in _items(top["clients"], "clients"))
    if not clients:
        raise top["clients"].error("clients is empty; a scenario runs at least one client")
    _check_paths(topology, servers, clients, top["clients"])
    steps = _steps(top.get("steps"), servers, clients, hosts, topology)
    topology = _mark_dynamic(topology, steps)
    mitm = _mitm(top.get("mitm"), topology)
    expectations = expect_mod.parse(top.get("expect"), clients, mitm is not None)
    seed = top["seed"].integer("seed", minimum=0) if "seed" in top else 1
    description = top["description"].text("description") if "description" in top else ""
    return Scenario(name=name, path=root.path, topology=topology, certs=certs, servers=servers,
                    clients=clients, steps=steps, expectations=expectations, seed=seed, mitm=mitm,
                    cell=tuple(cell), description=description)


def _items(reader: Reader | None, what: str):
    return reader.mapping(what).items() if reader is not None else ()


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
        i = _find_link(topo, fields["endpoints"])
        impairments, faults = parse_link_effects(fields, links[i].a.node, links[i].b.node)
        links[i] = dataclasses.replace(links[i], impairments=impairments or links[i].impairments,
                                       faults=faults or links[i].faults)
    return dataclasses.replace(topo, links=tuple(links))


def _certs(reader: Reader | None) -> tuple[CertSpec, ...]:
    if reader is None:
        return (CertSpec("server", names=("server",)),)
    out = []
    for name, r in reader.mapping("pki").items():
        f = r.mapping(f"certificate '{name}'", CERT_KEYS)
        names = tuple(n.string("name") for n in f["names"].sequence("names")) \
            if "names" in f else (name,)
        out.append(CertSpec(
            name=name, names=names,
            key=f["key"].text("key") if "key" in f else "rsa2048",
            variant=f["variant"].text("variant") if "variant" in f else "good",
            intermediate=f["intermediate"].boolean("intermediate") if "intermediate" in f else False,
            client=f["client"].boolean("client") if "client" in f else False,
            where=r.where))
        _check_cert(out[-1], r)
    return tuple(out)


def _check_cert(cert: CertSpec, reader: Reader) -> None:
    from lab.pki.keys import parse_key_spec
    from lab.pki.variants import variant

    try:
        parse_key_spec(cert.key)
        variant(cert.variant)
    except InputError as exc:
        raise reader.error(exc.message) from None


def _strings(fields, key, what) -> tuple[str, ...]:
    if key not in fields:
        return ()
    r = fields[key]
    if r.is_scalar():
        return (r.string(what),)
    return tuple(v.string(what) for v in r.sequence(what))


def _host(fields, hosts, owner: Reader) -> str:
    if "host" not in fields:
        raise owner.error("needs 'host', a host of the topology")
    host = fields["host"].text("host")
    if host not in hosts:
        raise fields["host"].error(f"no host '{host}' in the topology; hosts: "
                                   f"{', '.join(sorted(hosts))}")
    return host


def _impl(fields, owner: Reader, role: str) -> str:
    from lab.tls import registry

    if "impl" not in fields:
        raise owner.error(f"needs 'impl', one of {', '.join(registry.names())}")
    impl = fields["impl"].text("impl")
    try:
        found = registry.get(impl)
    except InputError as exc:
        raise fields["impl"].error(exc.message) from None
    if role not in found.roles:
        raise fields["impl"].error(f"{impl} cannot act as a {role}; "
                                   f"{role}s: {', '.join(registry.with_role(role))}")
    return impl


def _server(name, r: Reader, hosts, certs) -> ServerDef:
    f = r.mapping(f"server '{name}'", SERVER_KEYS)
    cert = f["cert"].text("cert") if "cert" in f else "server"
    if cert not in {c.name for c in certs if not c.client}:
        raise (f.get("cert") or r).error(f"server certificate '{cert}' is not in pki")
    return ServerDef(
        name=name, host=_host(f, hosts, r), impl=_impl(f, r, "server"),
        port=f["port"].integer("port", minimum=1) if "port" in f else 4433,
        cert=cert, versions=_strings(f, "versions", "version") or ("1.2", "1.3"),
        ciphers=_strings(f, "ciphers", "cipher"), groups=_strings(f, "groups", "group"),
        response=f["response"].string("response").encode() if "response" in f
        else b"hello from tlslab\n",
        client_auth=f["client_auth"].boolean("client_auth") if "client_auth" in f else False,
        tickets=f["tickets"].boolean("tickets") if "tickets" in f else True,
        where=r.where)


def _client(name, r: Reader, hosts, servers, certs) -> ClientDef:
    f = r.mapping(f"client '{name}'", CLIENT_KEYS)
    if "server" not in f:
        raise r.error("needs 'server', the name of a server in this scenario")
    server = f["server"].text("server")
    if server not in {s.name for s in servers}:
        raise f["server"].error(f"no server '{server}' in this scenario; servers: "
                                f"{', '.join(s.name for s in servers) or 'none'}")
    trust = f["trust"].text("trust") if "trust" in f else "ca"
    if trust not in ("ca", "ca+attacker", "none"):
        raise f["trust"].error("trust must be 'ca' (the run's root CA), 'ca+attacker' (also "
                               "the attacker CA, as a corporate proxy makes clients do) or 'none'")
    verify = f["verify"].boolean("verify") if "verify" in f else True
    if trust == "none" and verify:
        raise f["trust"].error("trust: none leaves a verifying client nothing to trust; "
                               "add verify: false, or use trust: ca")
    cert = f["cert"].text("cert") if "cert" in f else None
    if cert is not None and cert not in {c.name for c in certs if c.client}:
        raise f["cert"].error(f"client certificate '{cert}' is not in pki (with client: true)")
    return ClientDef(
        name=name, host=_host(f, hosts, r), impl=_impl(f, r, "client"), server=server,
        sni=f["sni"].string("sni") if "sni" in f else None,
        verify=verify, trust=trust, pin=f["pin"].text("pin") if "pin" in f else None,
        versions=_strings(f, "versions", "version") or ("1.2", "1.3"),
        ciphers=_strings(f, "ciphers", "cipher"), groups=_strings(f, "groups", "group"),
        send=f["send"].string("send").encode() if "send" in f else None,
        cert=cert,
        connections=f["connections"].integer("connections", minimum=1) if "connections" in f else 1,
        resume=f["resume"].boolean("resume") if "resume" in f else False,
        timeout=parse_seconds(f["timeout"]) if "timeout" in f else 10.0,
        where=r.where)


def _mitm(reader: Reader | None, topology: Topology) -> MitmDef | None:
    """`mitm: {host: mitm, mode: intercept, forge: ..., victims: [...], port: 443}`"""
    if reader is None:
        return None
    from lab import mitm
    from lab.mitm.targets import mitm_node, resolve_victims

    fields = reader.mapping("mitm")
    for key in ("host", "mode"):
        if key not in fields:
            raise reader.error(f"mitm needs '{key}'" + (
                f", one of {', '.join(mitm.MODES)}" if key == "mode" else ""))
    host = fields["host"].text("mitm host")
    mode = fields["mode"].text("mitm mode")
    rest = {k: r.plain() for k, r in fields.items() if k not in ("host", "mode")}
    try:
        mitm_node(topology, host)
        config = mitm.parse_config(mode, rest)
        adjacent = mode == "arp-spoof" or (mode in ("intercept", "downgrade") and config.spoof)
        resolve_victims(topology, host, config.victims, adjacent=adjacent)
    except InputError as exc:
        raise reader.error(exc.message) from None
    return MitmDef(host, mode, config, reader.where)


def _check_paths(topology, servers, clients, where: Reader) -> None:
    """Every client must be able to reach its server, and back."""
    segments = checks.segments_of(topology)
    for client in clients:
        server = next(s for s in servers if s.name == client.server)
        problem = checks.path_problem(topology, segments, client.host, server.host)
        if problem:
            raise InputError(f"client {client.name} cannot reach server {server.name}: {problem}",
                             client.where)


def _find_link(topo: Topology, reader: Reader) -> int:
    ends = [e.text("endpoint") for e in reader.sequence("endpoints")]
    wanted = {e.split(":")[0] for e in ends}
    match = [i for i, l in enumerate(topo.links) if {l.a.node, l.b.node} == wanted]
    if len(ends) != 2 or not match:
        raise reader.error(f"no link between {' and '.join(ends)} in topology '{topo.name}'")
    return match[0]


def _mark_dynamic(topo: Topology, steps) -> Topology:
    import dataclasses

    changed = {int(s.target) for s in steps if s.action == "link"}
    if not changed:
        return topo
    links = tuple(dataclasses.replace(l, dynamic=True) if i in changed else l
                  for i, l in enumerate(topo.links))
    return dataclasses.replace(topo, links=links)


def _steps(reader: Reader | None, servers, clients, hosts, topo) -> tuple[Step, ...]:
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
            index = _find_link(topo, g["endpoints"])
            link = topo.links[index]
            impairments, _ = parse_link_effects({"impair": g["impair"]}, link.a.node, link.b.node)
            out.append(Step("link", target=str(index), impairments=impairments, where=item.where))
        elif action == "exec":
            g = value.mapping("exec", {"host", "argv"})
            argv = tuple(a.string("argv item") for a in g["argv"].sequence("argv")) \
                if "argv" in g else ()
            if not argv:
                raise value.error("exec needs 'argv', a non-empty list")
            out.append(Step("exec", target=_host(g, hosts, value), argv=argv, where=item.where))
        else:
            target = value.text(action)
            if target not in names[action]:
                raise value.error(f"'{action}: {target}' names no "
                                  f"{'client' if action == 'run' else 'server'} of this scenario")
            out.append(Step(action, target, where=item.where))
    return tuple(out)
