"""TLS roles: one interface (lab.tls.base.Implementation) over several stacks,
each a module registered by name in lab.tls.registry."""
from lab.tls.base import Implementation, ServerHandle
from lab.tls.registry import available, get
from lab.tls.roles import ClientSpec, Outcome, ServerSpec, Timings, http_response
from lab.tls.variants import VARIANTS, Variant, variant

__all__ = ["ClientSpec", "Implementation", "Outcome", "ServerHandle", "ServerSpec", "Timings",
           "VARIANTS", "Variant", "available", "get", "http_response", "variant"]
