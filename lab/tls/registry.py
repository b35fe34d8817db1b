"""TLS implementations by name. Each module is imported only when asked for."""
from __future__ import annotations

import importlib

from lab.errors import InputError
from lab.tls.base import Implementation

_MODULES: dict[str, str] = {
    "openssl": "lab.tls.openssl:OpenSSL",
    "gnutls": "lab.tls.gnutls:GnuTLS",
    "python": "lab.tls.python_impl:PythonSSL",
    "tlslite": "lab.tls.tlslite_impl:TLSLite",
    "scapy": "lab.tls.scapy_impl:Scapy",
}


def names() -> list[str]:
    return list(_MODULES)


# The package re-exports this one: `lab.tls.names` is the naming-tables module.
available = names


def get(name: str) -> Implementation:
    try:
        target = _MODULES[name]
    except KeyError:
        raise InputError(f"unknown TLS implementation {name!r}; supported: {', '.join(_MODULES)}") from None
    module, cls = target.split(":")
    return getattr(importlib.import_module(module), cls)()


def with_role(role: str) -> list[str]:
    return [n for n in _MODULES if role in get(n).roles]
