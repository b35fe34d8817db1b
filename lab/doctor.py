"""`tlslab doctor`: what this machine's kernel and tools can do, and which
engine tlslab will use for each feature.

Kernel features are probed for real, each in a throwaway network namespace
(`unshare --net`), which vanishes with the probe process: nothing to clean up.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
from dataclasses import dataclass, field
from functools import lru_cache

REQUIRED_TOOLS = {
    "mnexec": "mininet", "ip": "iproute2", "tc": "iproute2", "ethtool": "ethtool",
    "brctl": "bridge-utils", "nsenter": "util-linux", "unshare": "util-linux",
    "ifconfig": "net-tools", "sysctl": "procps", "ping": "iputils-ping",
}
OPTIONAL_TOOLS = {
    "tcpdump": "tcpdump", "tshark": "tshark", "editcap": "wireshark-common",
    "openssl": "openssl", "gnutls-cli": "gnutls-bin", "gnutls-serv": "gnutls-bin",
    "iperf3": "iperf3", "nft": "nftables", "ovs-vsctl": "openvswitch-switch",
}


def _in_fresh_netns(argv: list[str], stdin: str | None = None) -> bool:
    if shutil.which("unshare") is None or os.geteuid() != 0:
        return False
    try:
        proc = subprocess.run(["unshare", "--net", *argv], input=stdin, text=True,
                              capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0


def _socket_ok(family: int, kind: int, proto: int = 0) -> bool:
    try:
        socket.socket(family, kind, proto).close()
        return True
    except OSError:
        return False


@lru_cache(maxsize=1)
def netem_available() -> bool:
    return _in_fresh_netns(["tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"])


def kernel_features() -> dict[str, bool]:
    return {
        "veth": _in_fresh_netns(["ip", "link", "add", "v0", "type", "veth", "peer", "name", "v1"]),
        "bridge": _in_fresh_netns(["ip", "link", "add", "b0", "type", "bridge"]),
        "netem": netem_available(),
        "tbf": _in_fresh_netns(["tc", "qdisc", "add", "dev", "lo", "root", "tbf", "rate", "1mbit",
                                "burst", "10k", "latency", "50ms"]),
        "htb": _in_fresh_netns(["tc", "qdisc", "add", "dev", "lo", "root", "handle", "1:", "htb"]),
        "nftables": _in_fresh_netns(["nft", "-f", "-"], "add table inet probe\n"),
        # nft's own queue expression may be missing where the xtables NFQUEUE target works.
        "nfqueue": _in_fresh_netns(["iptables", "-A", "INPUT", "-j", "NFQUEUE", "--queue-num", "0"]),
        "openvswitch": os.path.isdir("/sys/module/openvswitch"),
        "sctp": _socket_ok(socket.AF_INET, socket.SOCK_STREAM, getattr(socket, "IPPROTO_SCTP", 132)),
        "af_packet": _socket_ok(socket.AF_PACKET, socket.SOCK_RAW),
        "tun": os.path.exists("/dev/net/tun"),
    }


@dataclass
class Report:
    root: bool
    kernel: dict[str, bool]
    tools: dict[str, str | None]
    engines: dict[str, str]
    problems: list[str] = field(default_factory=list)

    @property
    def can_run(self) -> bool:
        return not self.problems


def diagnose() -> Report:
    root = os.geteuid() == 0
    kernel = kernel_features()
    tools = {t: shutil.which(t) for t in {**REQUIRED_TOOLS, **OPTIONAL_TOOLS}}
    impair = "netem (kernel)" if kernel["netem"] else "relay (tlslab user-space, AF_PACKET)"
    engines = {
        "switch": "linux-bridge" if kernel["bridge"] else "unavailable: no bridge support",
        "switch: ovs": "available" if kernel["openvswitch"] and tools["ovs-vsctl"]
        else "unavailable: no openvswitch module or tools",
        "delay, jitter, loss, duplicate, reorder, corrupt": impair,
        "rate, queue": impair,
        "scripted faults, link down": "relay (tlslab user-space, AF_PACKET)",
    }
    problems = []
    if not root:
        problems.append("not root: namespaces need root; run as root or with sudo")
    missing = sorted({REQUIRED_TOOLS[t] for t in REQUIRED_TOOLS if not tools[t]})
    if missing:
        problems.append(f"missing packages: {' '.join(missing)} (run scripts/provision.sh)")
    if root:
        for feature in ("veth", "bridge", "af_packet"):
            if not kernel[feature]:
                problems.append(f"the kernel lacks {feature}, which every lab needs")
    return Report(root, kernel, tools, engines, problems)


def render(report: Report) -> str:
    lines = ["kernel features (probed in a throwaway namespace):"]
    for name, ok in report.kernel.items():
        lines.append(f"  {name:<12} {'yes' if ok else 'no'}")
    lines.append("tools:")
    for name in sorted(report.tools):
        where = report.tools[name]
        need = "required" if name in REQUIRED_TOOLS else "optional"
        pkg = REQUIRED_TOOLS.get(name) or OPTIONAL_TOOLS.get(name)
        lines.append(f"  {name:<12} {where or f'missing ({need}; package {pkg})'}")
    lines.append("engines:")
    for feature, engine in report.engines.items():
        lines.append(f"  {feature:<50} {engine}")
    if report.problems:
        lines.append("tlslab cannot run here:")
        lines += [f"  - {p}" for p in report.problems]
    else:
        lines.append("tlslab can run here.")
    return "\n".join(lines)
