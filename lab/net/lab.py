"""`with Lab(topology) as lab:` — a running lab that always tears down.

Each lab lives in its own outer network namespace (`tlslab-<id>`): its
bridges and veths never appear on the machine, two labs with the same node
names do not collide, and no lab interface has a path to the real network.
Every namespace and process is recorded (lab.net.state) as it is created.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from contextlib import ExitStack

from lab.errors import EnvironmentProblem, LabFailure
from lab.kinds import get_kind
from lab.model.topology import Topology
from lab.net import build as builder
from lab.net.host import LabHost, OuterRunner
from lab.net.links import netem_commands, plan_links, start_relays
from lab.net.procs import NetnsSwitch, ProcRef, netns_inode
from lab.net.state import NETNS_PREFIX, LabState
from lab.net.teardown import teardown

REQUIRED_TOOLS = ("mnexec", "ip", "ethtool", "sysctl", "nsenter", "brctl", "ifconfig")


def preflight(topology: Topology) -> None:
    """Fail early, with what to install, before anything is created."""
    if os.geteuid() != 0:
        raise EnvironmentProblem("tlslab needs root to create network namespaces; "
                                 "run it with sudo or as root")
    missing = [t for t in REQUIRED_TOOLS if shutil.which(t) is None]
    if missing:
        raise EnvironmentProblem(f"missing tools: {', '.join(missing)}; run "
                                 "scripts/provision.sh (or apt-get install mininet "
                                 "bridge-utils ethtool iproute2 util-linux net-tools)")
    if topology.switch == "ovs":
        if not os.path.isdir("/sys/module/openvswitch") or shutil.which("ovs-vsctl") is None:
            raise EnvironmentProblem(
                "Open vSwitch is not available here (no openvswitch kernel module or "
                "no ovs-vsctl); use 'switch: linux-bridge'")
        raise EnvironmentProblem(
            "Open vSwitch is present, but running it inside a lab's own namespace is "
            "not supported yet; use 'switch: linux-bridge'")


def default_run_dir(name: str, base: str = "runs") -> str:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    path = os.path.join(base, f"{stamp}-{name}")
    n = 1
    while os.path.exists(path):
        n += 1
        path = os.path.join(base, f"{stamp}-{name}-{n}")
    return path


class Lab:
    def __init__(self, topology: Topology, run_dir: str | None = None,
                 engine: str | None = None, seed: int = 1):
        self.topology = topology
        self.seed = seed
        # Chosen before anything is built, so an impossible impairment stops here.
        self.plans = plan_links(topology, engine)
        self.run_dir = os.path.abspath(run_dir or default_run_dir(topology.name))
        self.state: LabState | None = None
        self.net = None
        self.hosts: dict[str, LabHost] = {}
        self.outer: OuterRunner | None = None
        self.relays: list = []
        self._stack = ExitStack()

    # --- lifecycle ------------------------------------------------------
    def __enter__(self) -> "Lab":
        preflight(self.topology)
        os.makedirs(os.path.join(self.run_dir, "logs"), exist_ok=True)
        self.state = LabState.new(self.topology.name, self.run_dir)
        self.state.save()
        self._stack.callback(self._teardown)
        try:
            self._create_outer_namespace()
            self._build()
            self._configure()
            self.relays = start_relays(self, self.plans, self.seed)
            self._wait_ready()
            self.state.status = "up"
            self.state.save()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self._stack.close()

    def _teardown(self) -> None:
        problems = teardown(self.state)
        if problems:
            raise LabFailure("teardown left resources behind: " + "; ".join(problems)
                             + "; run 'tlslab clean'")

    def _create_outer_namespace(self) -> None:
        name = NETNS_PREFIX + self.state.lab_id
        self.state.outer_netns = name  # recorded before it exists: a crash now is still cleanable
        self.state.save()
        result = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
        if result.returncode != 0:
            raise LabFailure(f"cannot create namespace {name}: {result.stderr.strip()}")
        self.outer = OuterRunner(name, self.state)

    def _record_shell(self, node) -> None:
        self.state.shells[node.name] = ProcRef.of(node.pid).to_json()
        inode = netns_inode(node.pid)
        if inode is not None:
            self.state.netns_inodes[node.name] = inode
        self.state.save()

    def _build(self) -> None:
        log = os.path.join(self.run_dir, "logs", "mininet.log")
        with NetnsSwitch(f"/run/netns/{self.state.outer_netns}"):
            self.state.netns_inodes["outer"] = netns_inode("thread-self")
            built = builder.build(self.topology, self._record_shell, log, self.plans)
        self.net = built.net
        self.ports = built.ports
        self.state.interfaces = [p.name for pair in built.ports for p in pair if p.outer]
        self.state.interfaces += built.relay_ports
        self.state.save()
        for node in self.topology.nodes:
            if not get_kind(node.kind).is_switch:
                mn = self.net[node.name]
                self.hosts[node.name] = LabHost(node, mn.pid, self.state)

    def _configure(self) -> None:
        """Addresses, routes, sysctls and offloads, each node in parallel.

        The outer ends of links come up first, so each host end finds its
        peer already up when it comes up itself.
        """
        outer = "".join(f"link set {name} up\n" for name in self.state.interfaces)
        builder.run_all([(self.outer.argv(["ip", "-batch", "-"]), outer.encode())])
        macs = builder.host_macs(self.topology)
        commands: list[tuple[list[str], bytes | None]] = []
        for node in self.topology.nodes:
            kind = get_kind(node.kind)
            if kind.is_switch:
                continue
            enter = self.hosts[node.name].argv([])
            sysctls = [f"{k}={v}" for k, v in kind.sysctls(node).items()]
            commands.append((enter + ["sysctl", "-q", "-w", *sysctls], None))
            lines = kind.setup_batch(node, macs.get(node.name, {}))
            commands.append((enter + ["ip", "-batch", "-"], ("\n".join(lines) + "\n").encode()))
            for intf in node.interfaces:
                commands.append((enter + ["ethtool", "-K", intf.name, *builder.OFFLOADS], None))
        for name in self.state.interfaces:
            commands.append((self.outer.argv(["ethtool", "-K", name, *builder.OFFLOADS]), None))
        builder.run_all(commands)
        builder.run_all(netem_commands(self, self.plans, self.ports))

    def _wait_ready(self, timeout: float = 5.0) -> None:
        """Wait until the kernel reports every host interface operationally up."""
        deadline = time.monotonic() + timeout
        pending = {n.name for n in self.topology.nodes if n.name in self.hosts and n.interfaces}
        while pending:
            for name in sorted(pending):
                out = self.hosts[name].run(["ip", "-br", "link"]).stdout.decode()
                states = {line.split()[0].split("@")[0]: line.split()[1]
                          for line in out.splitlines() if line.strip()}
                wanted = self.topology.node(name).interfaces
                if all(states.get(i.name) == "UP" for i in wanted):
                    pending.discard(name)
            if pending and time.monotonic() > deadline:
                raise LabFailure(f"interfaces of {', '.join(sorted(pending))} did not come up "
                                 f"within {timeout:.0f} s; see {self.run_dir}/logs/mininet.log")
            if pending:
                time.sleep(0.005)

    # --- access ---------------------------------------------------------
    def host(self, name: str) -> LabHost:
        try:
            return self.hosts[name]
        except KeyError:
            known = ", ".join(sorted(self.hosts))
            raise LabFailure(f"no host '{name}' in this lab; hosts: {known}") from None
