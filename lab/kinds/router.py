"""A router: a host with IP forwarding on, several interfaces and static routes."""
from lab.kinds.base import NodeKind


class RouterKind(NodeKind):
    name = "router"
    forwards_by_default = True
    is_endpoint = False
