"""A layer-2 switch: a Linux bridge (or Open vSwitch) in the lab's namespace."""
from lab.kinds.base import NodeKind
from lab.model.topology import Node


class SwitchKind(NodeKind):
    name = "switch"
    is_switch = True
    is_endpoint = False
    keys = frozenset({"kind", "stp"})

    def setup_batch(self, node: Node, macs: dict[str, str]) -> list[str]:
        return []

    def sysctls(self, node: Node) -> dict[str, str]:
        return {}
