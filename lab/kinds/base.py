"""What every node kind provides."""
from __future__ import annotations

from lab.model.topology import Node

# Keys every addressed (layer-3) node accepts.
L3_KEYS = frozenset({"kind", "interfaces", "routes"})


class NodeKind:
    name: str = ""
    is_switch: bool = False
    forwards_by_default: bool = False
    keys: frozenset[str] = L3_KEYS
    # Whether `reach: all` includes nodes of this kind as endpoints.
    is_endpoint: bool = True

    def setup_batch(self, node: Node, macs: dict[str, str]) -> list[str]:
        """`ip -batch` lines that configure the node once its links exist."""
        lines = ["link set lo up"]
        for intf in node.interfaces:
            if intf.name in macs:
                lines.append(f"link set {intf.name} address {macs[intf.name]}")
            if intf.address is not None:
                lines.append(f"addr add {intf.address.with_prefixlen} dev {intf.name}")
            lines.append(f"link set {intf.name} up")
        # Routes last: a gateway on an interface that is still down is refused.
        for route in node.routes:
            dest = "default" if route.dest.prefixlen == 0 else str(route.dest)
            lines.append(f"route add {dest} via {route.via}")
        return lines

    def sysctls(self, node: Node) -> dict[str, str]:
        """sysctl settings inside the node's namespace."""
        forward = "1" if node.forwarding else "0"
        return {
            "net.ipv4.ip_forward": forward,
            # A lab host must not answer for addresses on its other interfaces
            # (that would hide routing mistakes), nor drop asymmetric replies.
            "net.ipv4.conf.all.arp_ignore": "1",
            "net.ipv4.conf.all.rp_filter": "0",
            "net.ipv4.conf.default.rp_filter": "0",
            # Labs are IPv4; IPv6 router solicitations and DAD only add noise
            # to captures.
            "net.ipv6.conf.all.disable_ipv6": "1",
            "net.ipv6.conf.default.disable_ipv6": "1",
        }
