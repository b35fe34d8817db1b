"""A man-in-the-middle node: a host that may forward, where attacks run.

Forwarding is off until a scenario's attack mode needs it (arp-spoof,
intercept); `forwarding: true` in the topology turns it on from the start,
as for an in-path attacker that routes between two subnets.
"""
from lab.kinds.base import L3_KEYS, NodeKind


class MitmKind(NodeKind):
    name = "mitm"
    keys = L3_KEYS | {"forwarding"}
