"""What opening a connection's TLS records yields: frozen dataclasses."""
from __future__ import annotations

from dataclasses import dataclass, field

from lab.analysis.tls import TlsRecord
from lab.decrypt.rsa_kx import RsaCheck


@dataclass(frozen=True)
class HandshakeMessage:
    from_client: bool
    type: int
    raw: bytes = field(repr=False)
    first_index: int
    first_ts_ns: int
    index: int
    ts_ns: int
    encrypted: bool
    detail: object = None  # lab.decrypt.messages details, for decrypted messages


@dataclass(frozen=True)
class RecordView:
    record: TlsRecord
    encrypted: bool
    decrypted: bool = False
    inner_type: str | None = None  # the real content type, once decrypted
    plaintext: bytes = field(default=b"", repr=False)  # data, alert or CCS body
    messages: tuple[HandshakeMessage, ...] = ()  # handshake messages ending in this record
    keys: str = ""  # "handshake", "application", "application 1", ... or "session" (1.2)
    error: str | None = None


@dataclass(frozen=True)
class Decryption:
    records: tuple[RecordView, ...]
    tls13: bool
    cipher_suite: str | None
    client_random: bytes | None
    secrets_from: str | None   # where the secrets came from, None when nothing decrypted
    status: str
    master_secret: bytes | None = None
    rsa: RsaCheck | None = None

    def app_data(self, from_client: bool) -> bytes:
        return b"".join(r.plaintext for r in self.records if r.decrypted
                        and r.record.from_client == from_client
                        and r.inner_type == "application_data")

    @property
    def counts(self) -> tuple[int, int]:
        """(decrypted, encrypted) record counts."""
        enc = [r for r in self.records if r.encrypted]
        return sum(r.decrypted for r in enc), len(enc)
