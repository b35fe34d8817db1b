"""Build a Topology as a Mininet network. The only module that imports Mininet.

Mininet supplies the node shells (mnexec), veth pairs and Linux bridges. We
skip its IP configuration and its teardown: tlslab configures interfaces with
`ip -batch` and tears down by recorded PID and namespace (lab.net.teardown).
"""
from __future__ import annotations

import itertools
import logging
import os
import subprocess
from dataclasses import dataclass
from typing import Callable

from mininet.link import Link as MininetLink
from mininet.log import lg
from mininet.net import Mininet
from mininet.node import Host, Node
from mininet.nodelib import LinuxBridge

from lab.errors import LabFailure
from lab.kinds import get_kind
from lab.model.topology import Topology
from lab.net.links import relay_names

# Features a veth may offload. With them on, captures show 64 KB
# super-frames and unverified checksums instead of what a wire carries.
OFFLOADS = ["rx", "off", "tx", "off", "sg", "off", "tso", "off", "gso", "off", "gro", "off"]


# Every veth end gets its own interface index. Mininet leaves this to the
# kernel, which numbers each namespace from 2, so a host's eth0 and its peer
# in the lab namespace both get index 2; the kernel then cannot tell the pair
# is a pair (ifindex == iflink) and delays its carrier-up event by a second.
_ifindex = itertools.count(1000)


class IndexedLink(MininetLink):
    """A Mininet link whose veth pair is created with distinct ifindexes."""

    def makeIntfPair(self, intf1, intf2, addr1=None, addr2=None, node1=None, node2=None,
                     deleteIntfs=True):
        first, second = next(_ifindex), next(_ifindex)
        argv = ["mnexec", "-a", str(node1.pid), "ip", "link", "add", "name", intf1,
                "index", str(first), "type", "veth", "peer", "name", intf2,
                "index", str(second), "netns", str(node2.pid)]
        result = subprocess.run(argv, capture_output=True, text=True)
        if result.returncode != 0:
            raise LabFailure(f"cannot create veth {intf1}/{intf2}: {result.stderr.strip()}")


class RecordedHost(Host):
    """A Mininet host that reports its shell the moment it exists."""

    def startShell(self, *args, **kwargs):
        super().startShell(*args, **kwargs)
        self.params["recorder"](self)


class RecordedBridge(LinuxBridge):
    def startShell(self, *args, **kwargs):
        super().startShell(*args, **kwargs)
        self.params["recorder"](self)


@dataclass(frozen=True)
class PortName:
    node: str
    name: str  # interface name inside the node's namespace
    outer: bool  # True when the interface lives in the lab's outer namespace


def mac_for(node_index: int, intf_index: int) -> str:
    """Deterministic, locally administered MACs: captures stay comparable."""
    return f"02:00:00:00:{node_index:02x}:{intf_index:02x}"


class RelayNode(Node):
    """The wire node of a relay-engine link: a shell in the lab's outer
    namespace that owns the two veth ends the relay process forwards between."""

    def __init__(self, name, **params):
        params["inNamespace"] = False
        super().__init__(name, **params)

    def startShell(self, *args, **kwargs):
        super().startShell(*args, **kwargs)
        self.params["recorder"](self)

    def start(self, _controllers):
        pass  # the relay process is started by lab.net.links once links are up

    def stop(self, deleteIntfs=True):
        pass


def port_names(topology: Topology) -> list[tuple[PortName, PortName]]:
    """The interface names of both ends of every link, in link order."""
    counters: dict[str, int] = {}
    out = []
    for link in topology.links:
        pair = []
        for end in (link.a, link.b):
            if get_kind(topology.node(end.node).kind).is_switch:
                counters[end.node] = counters.get(end.node, 0) + 1
                # Mininet's LinuxBridge enslaves the ports whose names contain its own name.
                pair.append(PortName(end.node, f"{end.node}-p{counters[end.node]}", True))
            else:
                pair.append(PortName(end.node, end.interface, False))
        out.append((pair[0], pair[1]))
    return out


def host_macs(topology: Topology) -> dict[str, dict[str, str]]:
    """node -> interface -> MAC, numbered by node and interface order."""
    out: dict[str, dict[str, str]] = {}
    for i, node in enumerate(topology.nodes, start=1):
        out[node.name] = {intf.name: mac_for(i, j) for j, intf in enumerate(node.interfaces, 1)}
    return out


@dataclass
class Built:
    net: Mininet
    ports: list[tuple[PortName, PortName]]
    relay_ports: list[str]


def build(topology: Topology, recorder: Callable, log_path: str, plans=()) -> Built:
    """Create nodes, links and bridges in the calling thread's namespace."""
    with _MininetLog(log_path):
        net = Mininet(topo=None, build=False, controller=None, switch=RecordedBridge,
                      host=RecordedHost, autoSetMacs=False, waitConnected=False)
        for node in topology.nodes:
            if get_kind(node.kind).is_switch:
                net.addSwitch(node.name, cls=RecordedBridge, recorder=recorder,
                              stp=node.option("stp", False))
            else:
                net.addHost(node.name, cls=RecordedHost, recorder=recorder, ip=None)
        ports = port_names(topology)
        relayed = {p.index for p in plans if p.engine == "relay"}
        for index, (pa, pb) in enumerate(ports, start=1):
            if index in relayed:
                # a <-> relay <-> b: the relay forwards between its two ends.
                node, a_if, b_if = relay_names(index)
                net.addSwitch(node, cls=RelayNode, recorder=recorder)
                _add_link(net, pa, PortName(node, a_if, True))
                _add_link(net, PortName(node, b_if, True), pb)
            else:
                _add_link(net, pa, pb)
        net.built = True
        for switch in net.switches:
            switch.start([])
        relay_ports = [n for i in sorted(relayed) for n in relay_names(i)[1:]]
        _tell_mininet_addresses(net, topology)
        return Built(net, ports, relay_ports)


def _tell_mininet_addresses(net: Mininet, topology: Topology) -> None:
    """tlslab configures addresses itself; Mininet's CLI still needs them to
    turn `client ping server` into `ping 10.0.0.2`."""
    for node in topology.nodes:
        if get_kind(node.kind).is_switch:
            continue
        for intf in node.interfaces:
            mn_intf = net[node.name].intf(intf.name)
            if intf.address is not None:
                mn_intf.ip, mn_intf.prefixLen = str(intf.address.ip), intf.address.network.prefixlen


def _add_link(net: Mininet, pa: PortName, pb: PortName) -> None:
    # Both ends stay down, without MACs: lab.net.lab brings the outer ends up
    # first and the host ends last, so carrier comes on once, on running
    # devices. Any other order (Mininet's ifconfig down/up) can leave a bridge
    # port without carrier for a second of kernel linkwatch delay.
    net.addLink(pa.node, pb.node, cls=IndexedLink, intfName1=pa.name, intfName2=pb.name,
                addr1=None, addr2=None,
                params1={"up": False}, params2={"up": False})


class _MininetLog:
    """Send Mininet's chatter to the run directory while the lab is built,
    then give its terminal handlers back (the CLI of `tlslab up` prints
    through them)."""

    def __init__(self, path: str):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        self.handler = logging.FileHandler(path)
        self.saved = [h for h in lg.handlers if isinstance(h, logging.StreamHandler)
                      and not isinstance(h, logging.FileHandler)]
        self.level = lg.level

    def __enter__(self):
        for h in self.saved:
            lg.removeHandler(h)
        lg.addHandler(self.handler)
        lg.setLevel(logging.INFO)
        return self

    def __exit__(self, *exc):
        lg.removeHandler(self.handler)
        self.handler.close()
        for h in self.saved:
            lg.addHandler(h)
        lg.setLevel(self.level)


def run_all(commands: list[tuple[list[str], bytes | None]]) -> None:
    """Run argv lists in parallel (each with optional stdin); all must succeed."""
    procs = []
    for argv, stdin in commands:
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        procs.append((argv, stdin, proc))
    failures = []
    for argv, stdin, proc in procs:
        out, _ = proc.communicate(stdin)
        if proc.returncode != 0:
            failures.append(f"{' '.join(argv[:6])}: {out.decode(errors='replace').strip()}")
    if failures:
        raise LabFailure("lab configuration failed: " + "; ".join(failures))
