"""tcpdump on the mitm's own interfaces, for passive and in-path, and the
port mirror that lets a mitm on a bridge see unicast it is not part of.

A Linux bridge learns MACs, so a host on it sees only its own unicast. The
mirror copies every unicast frame entering the switch's other ports to the
mitm's port (tc clsact ingress, u32 on the destination MAC's group bit, then
mirred): a SPAN port. Unlike bridge ageing 0 (flooding), other hosts'
captures stay as they were.
"""
from __future__ import annotations

import os

from lab.net.capture import Target, Tcpdumps


def mirror_plan(ports, host: str, interfaces: tuple[str, ...]) -> list[tuple[str, str, list[str]]]:
    """(interface, its switch port, other ports of that switch) for each tapped interface
    attached to a switch. `ports` is Lab.ports: (end, end) pairs with
    .node, .name and .outer (True for a switch port in the outer namespace)."""
    plan = []
    for a, b in ports:
        for mine, other in ((a, b), (b, a)):
            if mine.node == host and mine.name in interfaces and other.outer:
                siblings = [p.name for pair in ports for p in pair
                            if p.outer and p.node == other.node and p.name != other.name]
                plan.append((mine.name, other.name, sorted(siblings)))
    return plan


def mirror_commands(dest: str, sources: list[str], own_mac: str) -> list[list[str]]:
    """tc argv that mirror `sources`' incoming unicast to `dest`, except frames
    for `own_mac`, which the bridge already delivers (mirrored, they would arrive twice)."""
    mac = bytes.fromhex(own_mac.replace(":", ""))
    cmds = []
    for src in sources:
        filt = ["tc", "filter", "add", "dev", src, "ingress", "protocol", "all"]
        cmds.append(["tc", "qdisc", "add", "dev", src, "clsact"])
        # At tc ingress the Ethernet header sits 14 bytes before the network header.
        # (u32 wants 32-bit matches 4-byte aligned, so the MAC goes as three u16.)
        own = [arg for i in (0, 2, 4) for arg in
               ("match", "u16", f"0x{mac[i:i + 2].hex()}", "0xffff", "at", str(i - 14))]
        # A match with a class and no action ends classification: the frame
        # passes unmirrored. (This kernel has no gact module for "action ok".)
        cmds.append(filt + ["prio", "1", "u32", *own, "classid", "1:1"])
        # The destination's first byte has its low bit set for broadcast and
        # multicast, which the bridge already floods to the mitm.
        cmds.append(filt + ["prio", "2", "u32", "match", "u8", "0", "1", "at", "-14",
                            "action", "mirred", "egress", "mirror", "dev", dest])
    return cmds


class Tap(Tcpdumps):
    """tcpdump per mitm interface into `out_dir`/<interface>.pcap."""

    def __init__(self, runner, interfaces: tuple[str, ...], out_dir: str):
        self.paths = {i: os.path.join(out_dir, f"{i}.pcap") for i in interfaces}
        super().__init__([Target(runner, runner.name, i, path,
                                 os.path.join(out_dir, f"tcpdump-{i}.log"))
                          for i, path in self.paths.items()])
