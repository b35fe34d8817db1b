"""Link impairments, applied for real by one of two engines.

- netem: the kernel's qdisc, on the egress of each end of the veth, where
  the kernel has it;
- relay: tlslab's user-space relay (lab.impair.relay), a wire node in the
  lab's outer namespace that forwards frames between the two halves of the
  link through AF_PACKET sockets. Scripted faults always need the relay.

An impairment is never dropped silently: if the chosen engine cannot apply
it, the lab does not start.
"""
from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass

from lab.errors import EnvironmentProblem, InputError, LabFailure
from lab.model.topology import Link, Topology

ENGINES = ("netem", "relay")


@dataclass(frozen=True)
class LinkPlan:
    index: int            # 1-based link number in the topology
    link: Link
    engine: str | None    # None: a plain wire

    @property
    def label(self) -> str:
        return f"{self.link.a}<->{self.link.b}"


def plan_links(topology: Topology, forced: str | None = None,
               netem_available: bool | None = None) -> list[LinkPlan]:
    """Choose an engine per impaired link: forced (CLI over topology), else
    netem where the kernel has it and the link has no scripted faults."""
    if forced is not None and forced not in ENGINES:
        raise InputError(f"engine must be one of {', '.join(ENGINES)}, not '{forced}'")
    forced = forced or topology.engine
    if netem_available is None:
        from lab.doctor import netem_available as probe
        netem_available = probe() if any(l.impaired for l in topology.links) else False
    plans = []
    for i, link in enumerate(topology.links, start=1):
        if not link.impaired:
            plans.append(LinkPlan(i, link, None))
            continue
        engine = forced or ("netem" if netem_available and not link.faults else "relay")
        if engine == "netem":
            if not netem_available:
                raise EnvironmentProblem(
                    f"link {link.a}<->{link.b} asks for the netem engine, but this kernel has "
                    "no netem (sch_netem); use 'engine: relay' or let tlslab choose")
            if link.faults:
                raise InputError(f"link {link.a}<->{link.b}: scripted faults need the relay "
                                 "engine; netem cannot express them", link.where)
        plans.append(LinkPlan(i, link, engine))
    return plans


def relay_names(index: int) -> tuple[str, str, str]:
    """(Mininet node name, interface towards a, interface towards b)."""
    return f"relay{index}", f"rl{index}a", f"rl{index}b"


def start_relays(lab, plans: list[LinkPlan], seed: int) -> list:
    """Start one relay process per relay-engine link and wait until each is ready."""
    from lab.impair.config import RelayConfig

    out_dir = os.path.join(lab.run_dir, "impair")
    started = []
    for plan in plans:
        if plan.engine != "relay":
            continue
        os.makedirs(out_dir, exist_ok=True)
        _, a_if, b_if = relay_names(plan.index)
        base = os.path.join(out_dir, f"link{plan.index}")
        a2b, b2a = plan.link.impairments or (None, None)
        config = RelayConfig(
            a_if=a_if, b_if=b_if, a_name=plan.link.a.node, b_name=plan.link.b.node,
            **({"a_to_b": a2b, "b_to_a": b2a} if a2b is not None else {}),
            fault_specs=plan.link.faults, seed=seed + plan.index,
            fault_log=f"{base}-faults.jsonl", stats=f"{base}-stats.json", ready=f"{base}-ready")
        config.write(f"{base}.json")
        log = open(os.path.join(lab.run_dir, "logs", f"relay{plan.index}.log"), "wb")
        proc = lab.outer.popen([sys.executable, "-m", "lab.impair.relay", "--config", f"{base}.json"],
                               stdout=log, stderr=log)
        log.close()
        started.append(Relay(plan, proc, config, f"{base}.json"))
    deadline = time.monotonic() + 10
    for relay in started:
        while not os.path.exists(relay.config.ready):
            if relay.proc.poll() is not None or time.monotonic() > deadline:
                raise LabFailure(f"impairment relay for link {relay.plan.label} did not start; "
                                 f"see {lab.run_dir}/logs/relay{relay.plan.index}.log")
            time.sleep(0.005)
    return started


@dataclass
class Relay:
    plan: LinkPlan
    proc: object
    config: object  # lab.impair.config.RelayConfig
    path: str


def change_link(lab, index: int, impairments) -> str:
    """Apply new impairments to link `index` (1-based) of a running lab;
    returns the engine that applied them."""
    import dataclasses
    import signal

    plan = lab.plans[index - 1]
    a2b, b2a = impairments
    if plan.engine == "relay":
        relay = next(r for r in lab.relays if r.plan.index == index)
        relay.config = dataclasses.replace(relay.config, a_to_b=a2b, b_to_a=b2a)
        relay.config.write(relay.path)
        relay.proc.send_signal(signal.SIGHUP)  # the relay re-reads its impairments
    elif plan.engine == "netem":
        for port, imp in zip(lab.ports[index - 1], (a2b, b2a)):
            done = _netem_runner(lab, port).run(_netem_argv("replace", port, imp))
            if done.returncode != 0:
                raise LabFailure(f"tc on {port.name} failed: {done.stderr.decode().strip()}")
    else:
        raise LabFailure(f"link {plan.label} has no impairment engine to change")
    return plan.engine


def netem_commands(lab, plans: list[LinkPlan], ports) -> list[tuple[list[str], None]]:
    """tc argv for every netem-engine link: each direction on its sender's egress."""
    commands = []
    for plan in plans:
        if plan.engine != "netem":
            continue
        for port, imp in zip(ports[plan.index - 1], plan.link.impairments):
            if imp:
                commands.append((_netem_runner(lab, port).argv(_netem_argv("add", port, imp)), None))
    return commands


def _netem_runner(lab, port):
    """A direction is shaped on its sender's egress: the namespace holding that end."""
    return lab.outer if port.outer else lab.hosts[port.node]


def _netem_argv(verb: str, port, imp) -> list[str]:
    from lab.impair.params import netem_args

    return ["tc", "qdisc", verb, "dev", port.name, "root", *netem_args(imp)]
