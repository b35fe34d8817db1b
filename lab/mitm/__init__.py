"""The MITM node's attack modes, one module each, registered by name.

    handle = start("intercept", lab, "mitm", {"victims": ["client", "server"],
                   "forge": "clone-untrusted-ca", "port": 443}, run_dir)
    ...                       # run clients
    handle.stop()             # idempotent: reverts ARP caches, NAT, sysctls, mirrors
    handle.report()           # JSON-able: what it did and saw

Anything that outlives the attack's processes is recorded in lab.state.undo
first; lab.mitm.revert.undo(record) reverts one such record (kinds in KINDS).
Every target is checked against the lab's topology (lab.mitm.targets).
"""
from __future__ import annotations

import importlib
from typing import Any, Mapping

from lab.errors import InputError
from lab.mitm.base import MitmHandle
from lab.mitm.config import FORGES, MODES, MitmConfig, forge_needs, parse_config
from lab.mitm.revert import KINDS as UNDO_KINDS
from lab.mitm.revert import undo

_MODULES: dict[str, str] = {
    "passive": "lab.mitm.passive:Passive",
    "arp-spoof": "lab.mitm.arp_spoof:ArpSpoof",
    "intercept": "lab.mitm.intercept:Intercept",
    "downgrade": "lab.mitm.downgrade:Downgrade",
    "in-path": "lab.mitm.passive:InPath",
}
assert tuple(_MODULES) == MODES

__all__ = ["FORGES", "MODES", "MitmConfig", "MitmHandle", "UNDO_KINDS", "forge_needs",
           "get", "names", "parse_config", "start", "undo"]


def names() -> list[str]:
    return list(_MODULES)


def get(mode: str) -> type[MitmHandle]:
    try:
        target = _MODULES[mode]
    except KeyError:
        raise InputError(f"unknown mitm mode {mode!r}; supported: {', '.join(_MODULES)}") from None
    module, cls = target.split(":")
    return getattr(importlib.import_module(module), cls)


def start(mode: str, lab, mitm_host: str, config: MitmConfig | Mapping[str, Any] | None,
          run_dir: str) -> MitmHandle:
    """Start an attack on a running lab; returns once it is in effect."""
    cls = get(mode)
    if not isinstance(config, MitmConfig):
        config = parse_config(mode, config)
    elif config.mode != mode:
        raise InputError(f"config is for mode {config.mode!r}, not {mode!r}")
    return cls(lab, mitm_host, config, run_dir).start()
