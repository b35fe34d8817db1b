"""Run one scenario cell end to end and leave a run directory behind.

    runs/<UTC time>-<name>[-<cell>]/
      result.json  scenario.yaml  topology.yaml  lab-state.json
      captures/<host>-<interface>.pcap   captures/<host>.pcapng (secrets embedded)
      keys/  certs/  logs/<host>-<process>.log  impair/
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field

from lab import __version__
from lab.errors import LabFailure
from lab.net.capture import HostCaptures
from lab.net.lab import Lab, default_run_dir
from lab.scenario import expect
from lab.scenario.model import Scenario
from lab.scenario.pki_setup import issue_all
from lab.tls import registry
from lab.tls.roles import ClientSpec, ServerSpec


@dataclass
class RunResult:
    scenario: Scenario
    run_dir: str
    checked: list = field(default_factory=list)
    data: dict = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checked)


def run_dir_for(scenario: Scenario, base: str) -> str:
    suffix = re.sub(r"[^A-Za-z0-9_.=-]+", "_", scenario.cell_id.replace(",", "_"))
    return default_run_dir(scenario.name + (f"-{suffix}" if suffix else ""), base)


def run_scenario(scenario: Scenario, base: str = "runs", seed: int | None = None,
                 engine: str | None = None, progress=lambda msg: None,
                 keep_up=None) -> RunResult:
    seed = scenario.seed if seed is None else seed
    run_dir = os.path.abspath(run_dir_for(scenario, base))
    for sub in ("captures", "keys", "certs", "logs"):
        os.makedirs(os.path.join(run_dir, sub), exist_ok=True)
    _write_inputs(scenario, run_dir, seed)
    progress("issuing certificates")
    pki = issue_all(scenario.certs, os.path.join(run_dir, "certs"))
    outcomes: dict[str, list] = {}
    servers = {}
    changes: list[dict] = []
    with Lab(scenario.topology, run_dir=run_dir, engine=engine, seed=seed) as lab:
        links = _link_record(lab)
        progress("measuring paths")
        paths = _measure_paths(lab, scenario)
        captures = HostCaptures(lab, os.path.join(run_dir, "captures"))
        captures.start()
        attack = None
        try:
            for step in scenario.steps:
                if step.action == "run" and scenario.mitm and attack is None:
                    progress(f"mitm {scenario.mitm.mode} on {scenario.mitm.host}")
                    attack = _start_mitm(lab, scenario.mitm, pki, run_dir)
                progress(f"step {step.action} {step.target or ''}".strip())
                _do_step(lab, scenario, step, pki, servers, outcomes, run_dir, changes)
            if keep_up is not None:
                keep_up(lab)
        finally:
            if attack is not None:
                attack.stop()
            for handle in servers.values():
                handle.stop()
            time.sleep(0.05)  # let the last FIN/ACKs reach every capture
            capture_stats = captures.stop()
    _attach_relay_stats(links, run_dir)
    result = RunResult(scenario, run_dir)
    result.data = {
        "scenario": scenario.name, "file": scenario.path, "cell": dict(scenario.cell),
        "seed": seed, "tlslab_version": __version__, "links": links, "paths": paths,
        "link_changes": changes,
        "mitm": attack.report() if attack is not None else None,
        "captures": [vars(c) for c in capture_stats],
        "connections": _connections(scenario, outcomes, lab),
    }
    from lab.scenario.tcpfigures import attach
    attach(result.data["connections"], capture_stats)
    from lab.scenario.observe import Observer
    observer = Observer(scenario, result.data, run_dir)
    result.checked = expect.check(scenario.expectations, observer.value) + _impairment_checks(links)
    result.data["expectations"] = [c.to_json() for c in result.checked]
    result.data["verdict"] = "pass" if result.passed else "fail"
    _embed_secrets(run_dir, capture_stats)
    with open(os.path.join(run_dir, "result.json"), "w") as fh:
        json.dump(result.data, fh, indent=2, default=str)
    from lab.report import write_report
    write_report(run_dir)  # reads result.json and the captures
    return result


def _write_inputs(scenario: Scenario, run_dir: str, seed: int) -> None:
    shutil.copyfile(scenario.path, os.path.join(run_dir, "scenario.yaml"))
    if os.path.exists(scenario.topology.path):
        shutil.copyfile(scenario.topology.path, os.path.join(run_dir, "topology.yaml"))
    with open(os.path.join(run_dir, "run.json"), "w") as fh:
        json.dump({"seed": seed, "cell": dict(scenario.cell), "tlslab_version": __version__}, fh)


def _link_record(lab) -> list[dict]:
    out = []
    for plan in lab.plans:
        link = plan.link
        entry = {"link": plan.label, "engine": plan.engine or "wire"}
        if link.impairments:
            a2b, b2a = link.impairments
            entry["impairments"] = {f"{link.a.node}->{link.b.node}": a2b.to_json(),
                                    f"{link.b.node}->{link.a.node}": b2a.to_json()}
        if link.faults:
            entry["faults"] = list(link.faults)
        out.append(entry)
    return out


def _start_mitm(lab, m, pki, run_dir):
    """Start the attack with the PKI material its forge needs."""
    import dataclasses

    from lab import mitm

    paths = {"ca_cert": pki.ca_bundle, "ca_key": pki.ca_key,
             "trusted_ca_cert": pki.attacker_ca, "trusted_ca_key": pki.attacker_key}
    needs = mitm.forge_needs(m.config.forge) if m.mode == "intercept" else ()
    config = dataclasses.replace(m.config, **{k: paths[k] for k in needs})
    return mitm.start(m.mode, lab, m.host, config, run_dir)


def _impairment_checks(links: list[dict]) -> list:
    """Every relay-engine link is checked, asked for or not: an impairment
    that was not applied exactly as configured makes the run fail."""
    checks = []
    for entry in links:
        if entry["engine"] != "relay":
            continue
        serious = [p for p in entry["relay_problems"] if "real-time priority" not in p]
        checks.append(expect.Checked(f"link {entry['link']}", "impairments_applied", "true",
                                     "true" if not serious else "; ".join(serious), not serious))
    return checks


def _attach_relay_stats(links: list[dict], run_dir: str) -> None:
    """What each relay measured it did (written when it stopped), and the
    scripted faults that fired."""
    for n, entry in enumerate(links, start=1):
        if entry["engine"] != "relay":
            continue
        base = os.path.join(run_dir, "impair", f"link{n}")
        try:
            with open(f"{base}-stats.json") as fh:
                entry["relay_stats"] = json.load(fh)
        except (OSError, ValueError):
            entry["relay_stats"] = None
        from lab.impair.control import problems
        entry["relay_problems"] = (problems(entry["relay_stats"]) if entry["relay_stats"]
                                   else ["the relay wrote no statistics: it did not stop cleanly"])
        try:
            with open(f"{base}-faults.jsonl") as fh:
                entry["faults_fired"] = [json.loads(line) for line in fh if line.strip()]
        except (OSError, ValueError):
            entry["faults_fired"] = []


def _measure_paths(lab, scenario) -> list[dict]:
    """Ping each client's server before the captures start: it measures the
    path RTT the scenario ran over, and it resolves ARP on every hop, so the
    first SYN is not held back by address resolution (a real network's
    caches are warm too; the arp-spoof MITM modes poison them anyway)."""
    from lab.net.reach import ping

    pairs = dict.fromkeys((c.host, scenario.server(c.server).host) for c in scenario.clients)
    out = []
    for src, dst in pairs:
        r = ping(lab, src, dst, count=3)
        out.append({"from": src, "to": dst, "address": r.address, "reached": r.ok,
                    "rtt_min_ms": r.rtt_ms})
    return out


def _server_spec(scenario, s, pki, run_dir) -> ServerSpec:
    cert = pki.certs[s.cert]
    return ServerSpec(port=s.port, cert=cert.chain, key=cert.key, versions=s.versions,
                      ciphers=s.ciphers, groups=s.groups, response=s.response,
                      keylog=os.path.join(run_dir, "keys", f"{s.host}-{s.name}.keylog"),
                      client_ca=pki.ca_bundle if s.client_auth else None, tickets=s.tickets)


def _client_spec(scenario, c, lab, pki, run_dir) -> ClientSpec:
    server = scenario.server(c.server)
    server_cert = scenario_cert(scenario, server.cert)
    pin = pki.certs[server.cert].spki_pin if c.pin == "server" else c.pin
    client = pki.certs[c.cert] if c.cert else None
    kwargs = {"data": c.send} if c.send is not None else {}
    return ClientSpec(
        address=lab.host(server.host).address, port=server.port,
        sni=c.sni or server_cert.names[0],
        ca={"ca": pki.ca_bundle, "ca+attacker": pki.both_bundle}.get(c.trust),
        verify=c.verify, pin=pin, versions=c.versions, ciphers=c.ciphers, groups=c.groups,
        keylog=os.path.join(run_dir, "keys", f"{c.host}-{c.name}.keylog"),
        cert=client.chain if client else None, key=client.key if client else None,
        connections=c.connections, resume=c.resume, **kwargs)


def scenario_cert(scenario, name):
    return next(c for c in scenario.certs if c.name == name)


def _do_step(lab, scenario, step, pki, servers, outcomes, run_dir, changes) -> None:
    logs = os.path.join(run_dir, "logs")
    if step.action == "start":
        s = scenario.server(step.target)
        impl = registry.get(s.impl)
        spec = _server_spec(scenario, s, pki, run_dir)
        impl.check_server(spec)
        handle = impl.start_server(lab.host(s.host), spec, logs)
        servers[s.name] = handle
        handle.wait_ready()
    elif step.action == "stop":
        servers[step.target].stop()
    elif step.action == "run":
        c = scenario.client(step.target)
        impl = registry.get(c.impl)
        spec = _client_spec(scenario, c, lab, pki, run_dir)
        impl.check_client(spec)
        outcomes.setdefault(c.name, []).extend(
            impl.run_client(lab.host(c.host), spec, logs, timeout=c.timeout))
    elif step.action == "wait":
        time.sleep(step.seconds)
    elif step.action == "link":
        from lab.net.links import change_link

        index = int(step.target) + 1
        engine = change_link(lab, index, step.impairments)
        a2b, b2a = step.impairments
        changes.append({"link": lab.plans[index - 1].label, "engine": engine,
                        "at": time.time(), "impairments": [a2b.to_json(), b2a.to_json()]})
    elif step.action == "exec":
        log = os.path.join(logs, f"{step.target}-exec.log")
        with open(log, "ab") as fh:
            proc = lab.host(step.target).popen(list(step.argv), stdout=fh, stderr=fh)
            if proc.wait(timeout=60) != 0:
                raise LabFailure(f"step exec {' '.join(step.argv)} on {step.target} exited "
                                 f"with {proc.returncode}; see {log}")


def _connections(scenario, outcomes, lab) -> list[dict]:
    out = []
    for c in scenario.clients:
        server = scenario.server(c.server)
        for outcome in outcomes.get(c.name, []):
            out.append({
                "client": c.name, "client_host": c.host, "client_impl": c.impl,
                "client_address": lab.host(c.host).address,
                "server": server.name, "server_host": server.host, "server_impl": server.impl,
                "server_address": lab.host(server.host).address, "port": server.port,
                "outcome": outcome.to_json(),
            })
    return out


def _embed_secrets(run_dir: str, capture_stats) -> None:
    """A pcapng per host with the run's TLS secrets inside (a Decryption
    Secrets Block), so Wireshark opens it already decrypted."""
    keys_dir = os.path.join(run_dir, "keys")
    lines = []
    for name in sorted(os.listdir(keys_dir)):
        with open(os.path.join(keys_dir, name), "rb") as fh:
            lines += [l for l in fh.read().splitlines() if l and not l.startswith(b"#")]
    if not lines or shutil.which("editcap") is None or shutil.which("mergecap") is None:
        return
    merged_keys = os.path.join(keys_dir, "all.keylog")
    with open(merged_keys, "wb") as fh:
        fh.write(b"\n".join(dict.fromkeys(lines)) + b"\n")
    by_host: dict[str, list[str]] = {}
    for c in capture_stats:
        by_host.setdefault(c.host, []).append(c.path)
    for host, paths in by_host.items():
        base = os.path.join(run_dir, "captures", host)
        merged = f"{base}-merged.pcapng"
        subprocess.run(["mergecap", "-w", merged, *paths], check=True, capture_output=True)
        subprocess.run(["editcap", "--inject-secrets", f"tls,{merged_keys}", merged,
                        f"{base}.pcapng"], check=True, capture_output=True)
        os.unlink(merged)
