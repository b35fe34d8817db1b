"""Scripted faults: one module per kind, registered by name.

    faults:
      - drop: {match: {tcp: syn}, direction: client->server, count: 1}
      - delay: {by: 500ms, match: {handshake: server_hello}}
      - hold: {match: {handshake: certificate}, packets: 2}
      - down: 1s..3s
"""
from lab.impair.faults import corrupt, delay, down, drop, duplicate, hold  # noqa: F401 (register)
from lab.impair.faults.base import REGISTRY, Action, Fault, parse_fault, parse_faults
from lab.impair.faults.match import Match, parse_match

__all__ = ["REGISTRY", "Action", "Fault", "Match", "parse_fault", "parse_faults", "parse_match"]
