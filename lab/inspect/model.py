"""What `tlslab inspect` shows, as frozen dataclasses: the text, JSON and
HTML renderers all read these and compute nothing themselves."""
from __future__ import annotations

from dataclasses import dataclass

from lab.analysis.tcp import Retransmission, RttSample, TcpCounts


@dataclass(frozen=True)
class Field:
    name: str
    value: str


@dataclass(frozen=True)
class TlsLine:
    """A handshake message, ChangeCipherSpec, alert or data record, or the
    walkthrough's off-the-wire step 2.6, shown under the packet completing it."""

    from_client: bool
    kind: str
    step: str       # walkthrough number: "2.1" ... "2.11", "3", "close", or ""
    label: str      # the ladder's text for it
    fields: tuple[Field, ...] = ()
    notes: tuple[str, ...] = ()
    encrypted: bool = False
    decrypted: bool = False
    first_index: int | None = None  # set when it began in an earlier packet


@dataclass(frozen=True)
class PacketRow:
    index: int
    rel_ms: float
    from_client: bool
    sent: bool | None   # sent (True) or received (False) by the vantage host; None: unknown
    flags: str
    seq: int            # absolute, as on the wire
    ack: int
    rel_seq: int        # relative to the sender's ISN, as Wireshark shows it
    rel_ack: int
    window: int         # scaled, in bytes
    raw_window: int     # the header field
    options: str
    payload_len: int
    events: tuple[str, ...]        # retransmission class, dup ACK, out-of-order, ...
    step: str                      # the TCP walkthrough step (1.1, 1.2, 1.3, close)
    label: str
    notes: tuple[str, ...]
    records: tuple[str, ...]       # TLS records completed by this packet
    tls: tuple[TlsLine, ...]


@dataclass(frozen=True)
class TcpFacts:
    client_isn: int | None
    server_isn: int | None
    client_mss: int | None
    server_mss: int | None
    client_wscale: int | None
    server_wscale: int | None
    sack_permitted: bool
    timestamps: bool
    packets: int
    client_bytes: int
    server_bytes: int
    counts: TcpCounts
    retransmissions: tuple[Retransmission, ...]
    duplicate_acks: tuple[int, ...]     # packet numbers
    out_of_order: tuple[int, ...]
    zero_windows: tuple[int, ...]
    rtt_samples: tuple[RttSample, ...]
    tcp_handshake_rtt_ms: float | None
    syn_to_handshake_complete_ms: float | None
    round_trips_before_app_data: int | None
    time_to_first_app_byte_ms: float | None
    time_to_first_response_byte_ms: float | None
    closed_by: str | None


@dataclass(frozen=True)
class TlsFacts:
    version: str | None
    cipher_suite: str | None
    key_exchange: str | None
    sni: str | None
    alpn: str | None
    client_random: str | None
    decryption: str            # one sentence: what was decrypted, or why not
    secrets_from: str | None
    master_secret: str | None  # TLS 1.2, hex
    finished_verified: tuple[bool | None, ...]
    client_data: bytes
    server_data: bytes
    client_data_sha256: str | None
    server_data_sha256: str | None


@dataclass(frozen=True)
class ConnectionView:
    number: int        # among the vantage host's connections (--conn N)
    stream: int        # tshark's tcp.stream within the capture file
    vantage: str       # "client:eth0", or the capture's name
    capture: str
    client: str
    client_port: int
    server: str
    server_port: int
    first_ts_ns: int
    tcp: TcpFacts
    tls: TlsFacts | None
    rows: tuple[PacketRow, ...]
