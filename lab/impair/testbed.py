"""Two hosts joined by a relay (or a plain veth) in bare namespaces: needs root.

Used by tests/integration/test_relay.py and bench/impairment.py to exercise
the relay without the lab engine. Namespaces are `tlt-<random>-a/-b/-r`,
addresses 10.99.<random>.1/.2 exist only inside them, and everything
created is removed on exit, in reverse order, even after a failure.

    with relay_testbed(workdir, impair=(ab, ba), faults=[...]) as bed:
        bed.a.run(["ping", "-c", "3", bed.b_ip])
    bed.stats  # the relay's stats, read after it stopped
"""
from __future__ import annotations

import contextlib
import secrets
import signal
import subprocess
from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence

from lab.impair.config import RelayConfig
from lab.impair.control import RelayHandle, start_relay
from lab.impair.params import Impairment

OFFLOADS = ["gso", "off", "tso", "off", "gro", "off", "tx", "off", "rx", "off"]


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


class NetnsRunner:
    """A HostRunner for a bare `ip netns` namespace."""

    def __init__(self, netns: str, name: str, address: str | None = None):
        self.netns, self.name, self.address = netns, name, address
        self.processes: list[subprocess.Popen] = []

    def _argv(self, argv: Sequence[str]) -> list[str]:
        return ["ip", "netns", "exec", self.netns, *argv]

    def popen(self, argv, *, stdin=None, stdout=None, stderr=None, env=None, cwd=None):
        proc = subprocess.Popen(self._argv(argv), stdin=stdin, stdout=stdout, stderr=stderr,
                                env=dict(env) if env is not None else None, cwd=cwd)
        self.processes.append(proc)
        return proc

    def run(self, argv, *, input=None, timeout=None, env=None, cwd=None):
        return subprocess.run(self._argv(argv), input=input, capture_output=True,
                              timeout=timeout, env=dict(env) if env is not None else None,
                              cwd=cwd)

    def close(self) -> None:
        """Stop what this runner started, by PID (`ip netns exec` execs, so it is the program)."""
        for proc in self.processes:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(3)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


@dataclass
class Testbed:
    a: NetnsRunner
    b: NetnsRunner
    a_ip: str
    b_ip: str
    workdir: str
    relay_host: NetnsRunner | None = None
    relay: RelayHandle | None = None
    stats: dict[str, Any] = field(default_factory=dict)

    def pids(self) -> list[int]:
        """Every process the testbed's runners started (for leak checks)."""
        runners = [self.a, self.b] + ([self.relay_host] if self.relay_host else [])
        return [proc.pid for runner in runners for proc in runner.processes]


def _namespace(stack: contextlib.ExitStack, name: str) -> None:
    _ip("netns", "add", name)
    stack.callback(subprocess.run, ["ip", "netns", "del", name], capture_output=True)
    _ip("-n", name, "link", "set", "lo", "up")
    # No IPv6: router solicitations and MLD reports would be extra frames the
    # relay impairs, and would shift seeded drop patterns between runs.
    for key in ("all", "default"):
        subprocess.run(["ip", "netns", "exec", name, "sysctl", "-qw",
                        f"net.ipv6.conf.{key}.disable_ipv6=1"], capture_output=True)


def _up(ns: str, ifname: str) -> None:
    _ip("-n", ns, "link", "set", ifname, "up")
    subprocess.run(["ip", "netns", "exec", ns, "ethtool", "-K", ifname, *OFFLOADS],
                   capture_output=True)  # ethtool fails on 'fixed' features; that is fine


def _mac(ns: str, ifname: str) -> str:
    out = subprocess.run(["ip", "-n", ns, "-br", "link", "show", ifname],
                         check=True, capture_output=True, text=True)
    return out.stdout.split()[2]


@contextlib.contextmanager
def relay_testbed(workdir: str, impair: tuple[Impairment, Impairment] = (Impairment(), Impairment()),
                  faults: Sequence[Any] = (), seed: int = 0, relay: bool = True,
                  static_arp: bool = True, event_log: bool = False,
                  names: tuple[str, str] = ("a", "b"), tag: str | None = None) -> Iterator[Testbed]:
    """a(10.99.N.1) - [relay ra|rb] - b(10.99.N.2); relay=False joins a and b directly.

    Namespaces are `<tag>-a/-b/-r`, tag defaulting to tlt-<random>.
    """
    tag = tag or f"tlt-{secrets.token_hex(3)}"
    subnet = f"10.99.{secrets.randbelow(250) + 1}"
    a_ns, b_ns, r_ns = f"{tag}-a", f"{tag}-b", f"{tag}-r"
    with contextlib.ExitStack() as stack:
        for ns in (a_ns, b_ns) + ((r_ns,) if relay else ()):
            _namespace(stack, ns)
        if relay:
            _ip("link", "add", "va", "netns", a_ns, "type", "veth", "peer", "name", "ra",
                "netns", r_ns)
            _ip("link", "add", "vb", "netns", b_ns, "type", "veth", "peer", "name", "rb",
                "netns", r_ns)
            _up(r_ns, "ra")
            _up(r_ns, "rb")
        else:
            _ip("link", "add", "va", "netns", a_ns, "type", "veth", "peer", "name", "vb",
                "netns", b_ns)
        a_ip, b_ip = f"{subnet}.1", f"{subnet}.2"
        _ip("-n", a_ns, "addr", "add", f"{a_ip}/24", "dev", "va")
        _ip("-n", b_ns, "addr", "add", f"{b_ip}/24", "dev", "vb")
        _up(a_ns, "va")
        _up(b_ns, "vb")
        if static_arp:  # no ARP through the relay: probes are the only frames
            _ip("-n", a_ns, "neigh", "replace", b_ip, "lladdr", _mac(b_ns, "vb"), "dev", "va",
                "nud", "permanent")
            _ip("-n", b_ns, "neigh", "replace", a_ip, "lladdr", _mac(a_ns, "va"), "dev", "vb",
                "nud", "permanent")
        bed = Testbed(NetnsRunner(a_ns, names[0], a_ip), NetnsRunner(b_ns, names[1], b_ip),
                      a_ip, b_ip, workdir)
        stack.callback(bed.a.close)
        stack.callback(bed.b.close)
        if relay:
            bed.relay_host = NetnsRunner(r_ns, "relay")
            stack.callback(bed.relay_host.close)
            config = RelayConfig("ra", "rb", impair[0], impair[1], tuple(faults),
                                 a_name=names[0], b_name=names[1], seed=seed,
                                 fault_log=f"{workdir}/faults.jsonl",
                                 event_log=f"{workdir}/events.jsonl" if event_log else None)
            bed.relay = start_relay(bed.relay_host, config, workdir)
        yield bed
        if bed.relay is not None:
            bed.stats = bed.relay.stop()
