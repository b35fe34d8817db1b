"""What a TLS server or client should do, and what one connection did.

Specs are frozen and validated on construction, so an implementation module
only ever sees well-formed input. Names follow the IANA registries: cipher
suites as `TLS_AES_128_GCM_SHA256`, groups as `x25519`/`secp256r1`, alerts as
RFC 8446/5246 spell them. Implementations translate to their own dialects.

The application protocol is deliberately tiny and identical for every server:
the client sends `data` (by default one HTTP/1.0 GET for /index.html), the
server answers with `http_response(response)` and closes. That is what
`openssl s_server -HTTP` (a file served verbatim) and `gnutls-serv --httpdata`
can both do byte for byte, so every client sees the same bytes from every server.
"""
from __future__ import annotations

import base64
import dataclasses
import enum
import hashlib
from dataclasses import dataclass, field
from typing import Any

from lab.errors import InputError

VERSIONS = ("1.0", "1.1", "1.2", "1.3")
DEFAULT_REQUEST = b"GET /index.html HTTP/1.0\r\nHost: tlslab\r\n\r\n"
DEFAULT_RESPONSE = b"hello from tlslab\n"


def http_response(body: bytes) -> bytes:
    """The exact bytes every server sends; matches what gnutls-serv --httpdata emits."""
    head = (f"HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


def _check_versions(versions: tuple[str, ...]) -> None:
    if not versions:
        raise InputError("versions must name at least one of " + ", ".join(VERSIONS))
    bad = [v for v in versions if v not in VERSIONS]
    if bad:
        raise InputError(f"unknown TLS version {bad[0]!r}; supported: {', '.join(VERSIONS)}")
    idx = sorted(VERSIONS.index(v) for v in versions)
    # Every implementation here configures a min..max range, not a set.
    if idx != list(range(idx[0], idx[-1] + 1)):
        raise InputError(f"versions {versions} are not contiguous; give a range such as ('1.2', '1.3')")


def _check_port(port: int) -> None:
    if not isinstance(port, int) or not 0 < port < 65536:
        raise InputError(f"port must be 1..65535, got {port!r}")


@dataclass(frozen=True)
class ServerSpec:
    port: int
    cert: str                      # PEM: leaf first, then intermediates
    key: str
    versions: tuple[str, ...] = ("1.2", "1.3")
    ciphers: tuple[str, ...] = ()  # IANA names; empty = implementation default
    groups: tuple[str, ...] = ()   # IANA names; empty = implementation default
    keylog: str | None = None      # NSS key log file to append to
    response: bytes = DEFAULT_RESPONSE
    client_ca: str | None = None   # set: require and verify a client certificate
    resumption: bool = True        # session cache / PSK resumption at all
    tickets: bool = True           # RFC 5077 tickets (TLS 1.2) / stateless TLS 1.3 tickets

    def __post_init__(self):
        _check_port(self.port)
        _check_versions(self.versions)
        object.__setattr__(self, "versions", tuple(self.versions))
        object.__setattr__(self, "ciphers", tuple(self.ciphers))
        object.__setattr__(self, "groups", tuple(self.groups))

    @property
    def min_version(self) -> str:
        return min(self.versions, key=VERSIONS.index)

    @property
    def max_version(self) -> str:
        return max(self.versions, key=VERSIONS.index)


@dataclass(frozen=True)
class ClientSpec:
    address: str
    port: int
    sni: str | None = None         # also the name verified against the certificate
    ca: str | None = None          # PEM bundle of trust anchors
    verify: bool = True
    pin: str | None = None         # base64(SHA-256(SubjectPublicKeyInfo)), RFC 7469 style
    versions: tuple[str, ...] = ("1.2", "1.3")
    ciphers: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    data: bytes = DEFAULT_REQUEST
    keylog: str | None = None
    cert: str | None = None        # client certificate for mutual TLS
    key: str | None = None
    connections: int = 1
    resume: bool = False           # connection n+1 resumes the session of connection n

    def __post_init__(self):
        _check_port(self.port)
        _check_versions(self.versions)
        for name in ("versions", "ciphers", "groups"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if self.connections < 1:
            raise InputError(f"connections must be >= 1, got {self.connections}")
        if (self.cert is None) != (self.key is None):
            raise InputError("a client certificate needs both cert and key")
        if self.verify and self.ca is None:
            raise InputError("verify is on but no CA bundle (ca) is given")
        if self.pin is not None:
            try:
                ok = len(base64.b64decode(self.pin, validate=True)) == 32
            except ValueError:
                ok = False
            if not ok:
                raise InputError(f"pin must be base64 of a SHA-256 digest, got {self.pin!r}")

    @property
    def count(self) -> int:
        """Connections to make: resumption needs at least two."""
        return max(self.connections, 2) if self.resume else self.connections

    @property
    def min_version(self) -> str:
        return min(self.versions, key=VERSIONS.index)

    @property
    def max_version(self) -> str:
        return max(self.versions, key=VERSIONS.index)


class ErrorClass(str, enum.Enum):
    CONNECT = "connect_failed"        # TCP never came up
    TIMEOUT = "timeout"
    VERIFY = "verify_failed"          # we rejected the peer's certificate
    PIN = "pin_mismatch"
    ALERT = "alert_received"          # the peer aborted with an alert
    HANDSHAKE = "handshake_failed"    # anything else during the handshake
    IO = "io_error"                   # after the handshake
    UNSUPPORTED = "unsupported"


@dataclass
class Timings:
    """Seconds since the connection attempt started; None where not observed.

    Agents (python, tlslite, scapy) stamp their own socket calls; a server's
    zero is accept(). CLI clients run under lab.tls.agents.cliwrap, whose zero
    is the tool's spawn: openssl's handshake_done is when -brief prints its
    summary and first_app_byte when data reaches stdout; gnutls's come from its
    unbuffered debug log (last Finished, first decrypted application record).
    Neither CLI shows when TCP connected, so tcp_connect stays None for them.
    Packet captures give the precise numbers."""

    tcp_connect: float | None = None
    handshake_done: float | None = None
    first_app_byte: float | None = None


@dataclass
class Outcome:
    implementation: str
    role: str                          # "client" or "server"
    index: int = 0                     # connection number, 0-based
    connected: bool = False            # handshake completed
    version: str | None = None         # "TLSv1.2" / "TLSv1.3"
    cipher: str | None = None          # IANA name
    group: str | None = None           # IANA name; None for RSA key exchange or unknown
    peer_subject: str | None = None    # RFC 4514 string
    peer_issuer: str | None = None
    peer_sha256: str | None = None     # hex fingerprint of the peer's leaf (DER)
    resumed: bool | None = None
    alert_sent: str | None = None
    alert_received: str | None = None
    error_class: str | None = None
    error_message: str | None = None
    timings: Timings = field(default_factory=Timings)
    bytes_sent: int = 0
    bytes_received: int = 0
    sent_sha256: str | None = None
    received_sha256: str | None = None
    notes: list[str] = field(default_factory=list)

    def set_sent(self, data: bytes) -> None:
        self.bytes_sent = len(data)
        self.sent_sha256 = hashlib.sha256(data).hexdigest()

    def set_received(self, data: bytes) -> None:
        self.bytes_received = len(data)
        self.received_sha256 = hashlib.sha256(data).hexdigest()

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> "Outcome":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(obj) - names
        if unknown:
            raise ValueError(f"unknown Outcome fields: {sorted(unknown)}")
        obj = dict(obj)
        obj["timings"] = Timings(**obj.get("timings") or {})
        return cls(**obj)
