"""Node kinds, one module each, registered by name.

A kind says which YAML keys a node of that kind takes, whether it is a layer-2
switch or an addressed host, and what to run inside it once its links exist.
The engine in lab.net asks the kind; it never switches on kind names itself.
"""
from __future__ import annotations

from lab.errors import InputError, Location
from lab.kinds.base import NodeKind
from lab.kinds.host import HostKind
from lab.kinds.mitm import MitmKind
from lab.kinds.router import RouterKind
from lab.kinds.switch import SwitchKind

KINDS: dict[str, NodeKind] = {k.name: k for k in (HostKind(), RouterKind(), SwitchKind(), MitmKind())}


def get_kind(name: str, where: Location | None = None) -> NodeKind:
    try:
        return KINDS[name]
    except KeyError:
        known = ", ".join(sorted(KINDS))
        raise InputError(f"unknown node kind '{name}'; supported kinds: {known}", where) from None
