"""scapy's TLS client automaton, driven through lab.tls.agents.scapy_agent.
Client only: scapy's server automaton is a demo that cannot serve our reply."""
from __future__ import annotations

from lab.tls.agent_impl import AgentImplementation
from lab.tls.base import name_gaps
from lab.tls.roles import ClientSpec


class Scapy(AgentImplementation):
    name = "scapy"
    module = "lab.tls.agents.scapy_agent"
    roles = frozenset({"client"})

    def client_gaps(self, spec: ClientSpec) -> list[str]:
        gaps = name_gaps(spec)
        if len(spec.versions) != 1 or spec.versions[0] not in ("1.2", "1.3"):
            gaps.append("scapy's automaton offers exactly one version, 1.2 or 1.3")
        if len(spec.ciphers) > 1:
            gaps.append("scapy's automaton offers one cipher suite or its whole default list")
        if spec.resume and spec.versions != ("1.3",):
            gaps.append("scapy's automaton resumes only TLS 1.3 sessions (tickets)")
        return gaps
