"""`passive` taps the segment (port mirror + tcpdump) and reports what an
eavesdropper learns (lab.mitm.leaks); `in-path` taps a mitm that routes and
reports what it forwarded. Neither changes a packet."""
from __future__ import annotations

import os

from lab.analysis.pcap import read_pcap
from lab.errors import InputError, LabFailure
from lab.mitm.base import MitmHandle
from lab.mitm.leaks import what_leaks
from lab.mitm.tap import Tap, mirror_commands, mirror_plan
from lab.mitm.targets import check_interfaces
from lab.mitm.revert import ns_of_path


class Passive(MitmHandle):
    mode = "passive"
    mirrored = True

    def _start(self) -> None:
        self.interfaces = check_interfaces(self.node, self.config.interfaces)
        plan = mirror_plan(self.lab.ports, self.host, self.interfaces) if self.mirrored else []
        self.plan = [(dest, srcs) for _, dest, srcs in plan]
        self.planned_interfaces = [intf for intf, _, _ in plan]
        self.tap = Tap(self.runner, self.interfaces, self.dir)
        self._stack.callback(self.tap.stop)
        self.tap.start()
        sources = [src for _, srcs in self.plan for src in srcs]
        if sources:
            outer = f"/run/netns/{self.lab.state.outer_netns}"
            self.changing({"kind": "mitm-mirror", "ns": ns_of_path(outer), "ports": sources})
            for (dest, srcs), intf in zip(self.plan, self.planned_interfaces):
                own = self.run(["cat", f"/sys/class/net/{intf}/address"]).strip()
                for argv in mirror_commands(dest, srcs, own):
                    done = self.lab.outer.run(argv)
                    if done.returncode != 0:
                        raise LabFailure(f"cannot mirror {srcs} to {dest}: "
                                         f"{done.stderr.decode(errors='replace').strip()}")

    def _report(self) -> dict:
        """Complete once stopped; while running only the capture paths."""
        search = tuple(s.encode() for s in self.config.search)
        per_interface = {}
        for intf, path in self.tap.paths.items():
            done = not self.active and os.path.exists(path)
            per_interface[intf] = {"pcap": path, **(what_leaks(read_pcap(path), search) if done else {})}
        seen = [v for v in per_interface.values() if "tls" in v]
        return {"mirrored": [{"to": d, "from": s} for d, s in self.plan],
                "interfaces": per_interface,
                "plaintext_seen": any(v["plaintext_seen"] for v in seen) if seen else None}


class InPath(Passive):
    """The mitm routes between subnets: no mirror needed, forwarding must be on."""

    mode = "in-path"
    mirrored = False

    def _start(self) -> None:
        if self.run(["sysctl", "-n", "net.ipv4.ip_forward"]).strip() != "1":
            raise InputError(f"mode 'in-path' needs mitm {self.host!r} to route: set "
                             "'forwarding: true' on it in the topology")
        super()._start()
