"""Remove exactly what a lab recorded: its processes, namespaces and links.

Used by Lab.__exit__ and by `tlslab clean` for labs whose runner died.
Processes are found by PID (recorded, with start time) and by membership of
the lab's own namespaces; never by name.
"""
from __future__ import annotations

import os
import signal
import subprocess

from lab.net.procs import ProcRef, kill, netns_inode, netns_inode_of_path, pids_in_netns, reap, terminate_all
from lab.net.state import LabState


def lab_namespaces(state: LabState) -> set[int]:
    """Inodes of the lab's namespaces that are verifiably still the lab's."""
    inodes: set[int] = set()
    if state.outer_netns:
        inode = netns_inode_of_path(f"/run/netns/{state.outer_netns}")
        if inode is not None:
            inodes.add(inode)
    for node, shell in state.shells.items():
        ref = ProcRef(**shell)
        recorded = state.netns_inodes.get(node)
        # Only trust an inode while the shell that created it still holds it:
        # a freed namespace's inode number can be reused by someone else's.
        if recorded and ref.alive() and netns_inode(ref.pid) == recorded:
            inodes.add(recorded)
    return inodes


def teardown(state: LabState, grace: float = 0.5) -> list[str]:
    """Tear the lab down; returns what could not be removed (normally nothing)."""
    problems: list[str] = []
    refs = [ProcRef(p["pid"], p["start"]) for p in state.processes]
    terminate_all(refs, grace)
    inodes = lab_namespaces(state)
    shells = [ProcRef(**s) for s in state.shells.values()]
    # Everything still running inside the lab's namespaces goes, including
    # processes a user started by hand from `tlslab up`.
    for _ in range(3):
        victims = [ProcRef.of(pid) for pid in pids_in_netns(inodes)] + shells
        killed = [ref for ref in victims if kill(ref, signal.SIGKILL)]
        if not killed:
            break
    for ref in shells + refs:
        reap(ref.pid, timeout=0.2)
    for item in reversed(state.undo):
        problems += _undo(item)
    if state.outer_netns and os.path.exists(f"/run/netns/{state.outer_netns}"):
        result = subprocess.run(["ip", "netns", "del", state.outer_netns],
                                capture_output=True, text=True)
        if result.returncode != 0:
            problems.append(f"ip netns del {state.outer_netns}: {result.stderr.strip()}")
    state.status = "torn down" if not problems else "teardown incomplete"
    state.save()
    if not problems:
        state.forget()
    return problems


def _undo(item: dict) -> list[str]:
    """Revert one recorded change (an attack's ARP poisoning, NAT rules,
    sysctls, port mirrors) by the module that made it."""
    from lab.mitm import UNDO_KINDS, undo

    if item.get("kind") in UNDO_KINDS:
        return undo(item)
    return [f"unknown undo record {item!r}"]
