"""The scenario's parts that name hosts: certificates, servers, clients and
the mitm's attack, each parsed strictly against the topology."""
from __future__ import annotations

from lab.config.yamlsrc import Reader
from lab.errors import InputError
from lab.model.topology import Topology
from lab.scenario.model import CertSpec, ClientDef, MitmDef, ServerDef
from lab.scenario.units import parse_seconds

CERT_KEYS = {"names", "key", "variant", "intermediate", "client"}
SERVER_KEYS = {"host", "impl", "port", "cert", "versions", "ciphers", "groups", "response",
               "client_auth", "tickets"}
CLIENT_KEYS = {"host", "impl", "server", "sni", "verify", "trust", "pin", "versions", "ciphers",
               "groups", "send", "cert", "connections", "resume", "timeout"}


def items(reader: Reader | None, what: str):
    return reader.mapping(what).items() if reader is not None else ()


def certs(reader: Reader | None) -> tuple[CertSpec, ...]:
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


def host_of(fields, hosts, owner: Reader) -> str:
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


def server(name, r: Reader, hosts, certs) -> ServerDef:
    f = r.mapping(f"server '{name}'", SERVER_KEYS)
    cert = f["cert"].text("cert") if "cert" in f else "server"
    if cert not in {c.name for c in certs if not c.client}:
        raise (f.get("cert") or r).error(f"server certificate '{cert}' is not in pki")
    return ServerDef(
        name=name, host=host_of(f, hosts, r), impl=_impl(f, r, "server"),
        port=f["port"].integer("port", minimum=1) if "port" in f else 4433,
        cert=cert, versions=_strings(f, "versions", "version") or ("1.2", "1.3"),
        ciphers=_strings(f, "ciphers", "cipher"), groups=_strings(f, "groups", "group"),
        response=f["response"].string("response").encode() if "response" in f
        else b"hello from tlslab\n",
        client_auth=f["client_auth"].boolean("client_auth") if "client_auth" in f else False,
        tickets=f["tickets"].boolean("tickets") if "tickets" in f else True,
        where=r.where)


def client(name, r: Reader, hosts, servers, certs) -> ClientDef:
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
        name=name, host=host_of(f, hosts, r), impl=_impl(f, r, "client"), server=server,
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


def mitm(reader: Reader | None, topology: Topology) -> MitmDef | None:
    """`mitm: {host: mitm, mode: intercept, forge: ..., victims: [...], port: 443}`"""
    if reader is None:
        return None
    from lab import mitm as attacks
    from lab.mitm.targets import mitm_node, resolve_victims

    fields = reader.mapping("mitm")
    for key in ("host", "mode"):
        if key not in fields:
            raise reader.error(f"mitm needs '{key}'" + (
                f", one of {', '.join(attacks.MODES)}" if key == "mode" else ""))
    host = fields["host"].text("mitm host")
    mode = fields["mode"].text("mitm mode")
    rest = {k: r.plain() for k, r in fields.items() if k not in ("host", "mode")}
    try:
        mitm_node(topology, host)
        config = attacks.parse_config(mode, rest)
        adjacent = mode == "arp-spoof" or (mode in ("intercept", "downgrade") and config.spoof)
        resolve_victims(topology, host, config.victims, adjacent=adjacent)
    except InputError as exc:
        raise reader.error(exc.message) from None
    return MitmDef(host, mode, config, reader.where)
