"""Protocol variants the interop matrix runs, as data.

A variant turns into a (ServerSpec, ClientSpec) pair; what it expects to be
negotiated sits beside it so a result can be checked without knowing which
implementations played.
"""
from __future__ import annotations

from dataclasses import dataclass

from lab.errors import InputError
from lab.tls.roles import ClientSpec, ServerSpec

TLS13_SUITES = frozenset({"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                          "TLS_CHACHA20_POLY1305_SHA256"})


@dataclass(frozen=True)
class Variant:
    name: str
    summary: str
    versions: tuple[str, ...]
    ciphers: tuple[str, ...] = ()      # offered by the client and allowed by the server
    resume: bool = False
    mutual: bool = False
    expect_version: str = "TLSv1.3"
    expect_ciphers: frozenset[str] = TLS13_SUITES

    def specs(self, *, port: int, cert: str, key: str, ca: str, address: str = "127.0.0.1",
              sni: str = "localhost", client_cert: str | None = None,
              client_key: str | None = None, keylog_server: str | None = None,
              keylog_client: str | None = None) -> tuple[ServerSpec, ClientSpec]:
        server = ServerSpec(port=port, cert=cert, key=key, versions=self.versions,
                            ciphers=self.ciphers, keylog=keylog_server,
                            client_ca=ca if self.mutual else None)
        client = ClientSpec(address=address, port=port, sni=sni, ca=ca, versions=self.versions,
                            ciphers=self.ciphers, keylog=keylog_client, resume=self.resume,
                            cert=client_cert if self.mutual else None,
                            key=client_key if self.mutual else None)
        return server, client


# TLS 1.3 suites are left to each side's default: Python's ssl cannot restrict
# them, and every default set is a subset of TLS13_SUITES.
VARIANTS: dict[str, Variant] = {v.name: v for v in (
    Variant("tls12-rsa", "TLS 1.2, RSA key exchange", ("1.2",),
            ("TLS_RSA_WITH_AES_128_GCM_SHA256",), expect_version="TLSv1.2",
            expect_ciphers=frozenset({"TLS_RSA_WITH_AES_128_GCM_SHA256"})),
    Variant("tls12-ecdhe", "TLS 1.2, ECDHE key exchange", ("1.2",),
            ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",), expect_version="TLSv1.2",
            expect_ciphers=frozenset({"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"})),
    Variant("tls13", "TLS 1.3", ("1.3",)),
    Variant("tls12-resume", "TLS 1.2 session resumption (ID or ticket)", ("1.2",),
            ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",), resume=True, expect_version="TLSv1.2",
            expect_ciphers=frozenset({"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"})),
    Variant("tls13-resume", "TLS 1.3 PSK resumption", ("1.3",), resume=True),
    Variant("mtls", "TLS 1.3 with a client certificate", ("1.3",), mutual=True),
)}


def variant(name: str) -> Variant:
    try:
        return VARIANTS[name]
    except KeyError:
        raise InputError(f"unknown TLS variant {name!r}; supported: {', '.join(VARIANTS)}") from None
