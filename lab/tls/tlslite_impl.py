"""tlslite-ng, driven through lab.tls.agents.tlslite_agent."""
from __future__ import annotations

from lab.tls.agent_impl import AgentImplementation
from lab.tls.base import name_gaps
from lab.tls.roles import ClientSpec, ServerSpec


class TLSLite(AgentImplementation):
    name = "tlslite"
    module = "lab.tls.agents.tlslite_agent"

    def server_gaps(self, spec: ServerSpec) -> list[str]:
        return name_gaps(spec)

    def client_gaps(self, spec: ClientSpec) -> list[str]:
        return name_gaps(spec)
