"""What intercept and downgrade share: bring the victims' traffic to the mitm
(ARP spoofing, or the mitm already routes it), start a proxy process on the
mitm, and redirect the target port to it with an nftables NAT table of its own.

Order: proxy listening, then the redirect, so no connection is sent to a
closed port; stop() undoes it in reverse.
"""
from __future__ import annotations

import os
from typing import ClassVar

from lab.errors import InputError
from lab.mitm.arp_spoof import ArpSpoof
from lab.mitm.base import MitmHandle
from lab.mitm.config import MitmConfig
from lab.mitm.eventlog import connections, read_events
from lab.mitm.targets import resolve_victims


def redirect_ruleset(table: str, addresses: list[str], port: int, to_port: int) -> str:
    """An nft table redirecting TCP to `port` of `addresses` to local `to_port`."""
    return (f"table ip {table} {{\n"
            f"  chain prerouting {{\n"
            f"    type nat hook prerouting priority -100; policy accept;\n"
            f"    ip daddr {{ {', '.join(addresses)} }} tcp dport {port} redirect to :{to_port}\n"
            f"  }}\n}}\n")


class Redirecting(MitmHandle):
    module: ClassVar[str] = ""

    def __init__(self, lab, host, config, run_dir):
        super().__init__(lab, host, config, run_dir)
        self.run_dir = run_dir
        self.arp: ArpSpoof | None = None
        self.log_path = os.path.join(self.dir, "proxy.jsonl")

    def _start(self) -> None:
        c = self.config
        victims = resolve_victims(self.lab.topology, self.host, c.victims, adjacent=c.spoof)
        if c.spoof:
            self.arp = ArpSpoof(self.lab, self.host, MitmConfig(
                mode="arp-spoof", victims=c.victims, interval=c.interval, restore=c.restore),
                self.run_dir)
            self._stack.callback(self.arp.stop)
            self.arp.start()
        elif self.run(["sysctl", "-n", "net.ipv4.ip_forward"]).strip() != "1":
            raise InputError(f"mitm {self.host!r} does not forward, so no traffic passes it; "
                             "set 'forwarding: true' on it in the topology, or use spoof: true")
        proc = self.spawn(self.module, self.proxy_options(), "proxy")
        self.wait_listening(proc, c.proxy_port, "proxy")
        table = "tlslab_" + os.path.basename(self.dir).replace("-", "_")
        self.changing({"kind": "mitm-nat", "ns": self.ns(), "table": table})
        self.run(["nft", "-f", "-"], input=redirect_ruleset(
            table, [v.address for v in victims], c.port, c.proxy_port).encode())

    def proxy_options(self) -> dict:
        return {"listen": self.config.proxy_port, "log": self.log_path}

    def connections(self) -> list[dict]:
        return connections(read_events(self.log_path))

    def _report(self) -> dict:
        return {"proxy_log": self.log_path, "connections": self.connections(),
                "arp": self.arp.report() if self.arp else None}
