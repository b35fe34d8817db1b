"""CPython's `ssl` module, driven through lab.tls.agents.python_agent."""
from __future__ import annotations

from lab.tls.agent_impl import AgentImplementation
from lab.tls.agents.python_agent import CURVES
from lab.tls.base import name_gaps
from lab.tls.names import suite
from lab.tls.roles import ClientSpec, ServerSpec


def _common_gaps(spec: ServerSpec | ClientSpec) -> list[str]:
    gaps = name_gaps(spec)
    if gaps:
        return gaps
    if any(suite(c).tls13 for c in spec.ciphers):
        gaps.append("CPython's ssl cannot choose TLS 1.3 cipher suites (no SSL_CTX_set_ciphersuites)")
    if spec.groups and spec.groups[0] not in CURVES:
        gaps.append(f"CPython's ssl cannot select {spec.groups[0]}; supported: {', '.join(CURVES)}")
    if len(spec.groups) > 1:
        gaps.append("CPython's ssl sets a single group (SSLContext.set_ecdh_curve)")
    return gaps


class PythonSSL(AgentImplementation):
    name = "python"
    module = "lab.tls.agents.python_agent"

    def server_gaps(self, spec: ServerSpec) -> list[str]:
        gaps = _common_gaps(spec)
        if not spec.resumption and "1.2" in spec.versions:
            gaps.append("CPython's ssl cannot turn off OpenSSL's TLS 1.2 session-ID cache")
        return gaps

    def client_gaps(self, spec: ClientSpec) -> list[str]:
        return _common_gaps(spec)
