"""An end host: addressed interfaces, static routes, no forwarding."""
from lab.kinds.base import NodeKind


class HostKind(NodeKind):
    name = "host"
