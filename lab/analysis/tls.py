"""TLS records and handshake messages of one TCP connection.

Both byte streams are split into records and the records are taken in the
order they completed, so cross-direction state (the negotiated version and
key exchange) is known when each message is read. Without keys, TLS 1.3's
encrypted handshake is labelled by position and record length; such
messages are marked inferred=True.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Union

from lab.analysis import tls_messages as tm
from lab.analysis.stream import ByteStream, reassemble
from lab.analysis.tcp import Connection

CONTENT_TYPES = {20: "change_cipher_spec", 21: "alert", 22: "handshake",
                 23: "application_data", 24: "heartbeat"}
_CCS, _ALERT, _HANDSHAKE, _APPDATA = 20, 21, 22, 23

Detail = Union[tm.ClientHello, tm.ServerHello, tm.CertificateChain, tm.ServerKeyExchange,
               tm.ClientKeyExchange, tm.Alert, None]


@dataclass(frozen=True)
class TlsRecord:
    from_client: bool
    content_type: str
    version: str
    length: int       # of the record body
    offset: int       # stream offset of the record header
    first_index: int  # packet carrying its first byte
    index: int        # packet that completed it
    ts_ns: int


@dataclass(frozen=True)
class TlsMessage:
    """A handshake message, ChangeCipherSpec, alert or application data record.

    index/ts_ns: the packet where its last byte arrived (see stream.py).
    """

    from_client: bool
    kind: str
    index: int
    ts_ns: int
    first_index: int
    first_ts_ns: int
    length: int
    encrypted: bool = False
    inferred: bool = False
    note: str | None = None
    detail: Detail = None


@dataclass(frozen=True)
class TlsSession:
    stream: int
    version: str | None
    tls13: bool
    cipher_suite: str | None
    key_exchange: str | None
    sni: str | None
    alpn: str | None
    hello_retry_request: bool
    certificates: tuple[tm.CertificateInfo, ...]
    alerts: tuple[tm.Alert, ...]
    handshake_complete_index: int | None
    handshake_complete_ts_ns: int | None
    client_app_data_sizes: tuple[int, ...]
    server_app_data_sizes: tuple[int, ...]
    client_stream_complete: bool
    server_stream_complete: bool
    messages: tuple[TlsMessage, ...] = ()
    records: tuple[TlsRecord, ...] = field(default=(), repr=False)


@dataclass
class _Rec:
    record: TlsRecord
    ctype: int
    body: bytes
    body_offset: int
    stream: ByteStream


def split_records(stream: ByteStream, from_client: bool) -> list[_Rec] | None:
    """Whole records in a stream; None if it does not start like TLS."""
    data, off, out = stream.data, 0, []
    while off + 5 <= len(data):
        ctype, major, minor = data[off], data[off + 1], data[off + 2]
        length = int.from_bytes(data[off + 3:off + 5], "big")
        if ctype not in CONTENT_TYPES or major != 3 or length > 18432:
            break  # not TLS, or we lost framing
        if off + 5 + length > len(data):
            break  # cut off by the end of the capture
        first, last = stream.chunk_at(off), stream.chunk_at(off + 4 + length)
        rec = TlsRecord(from_client, CONTENT_TYPES[ctype], tm.version_name(major << 8 | minor),
                        length, off, first.index, last.index, last.ts_ns)
        out.append(_Rec(rec, ctype, data[off + 5:off + 5 + length], off + 5, stream))
        off += 5 + length
    return out if out or not data else None


def analyze_tls(conn: Connection) -> TlsSession | None:
    """None when the client's first bytes are not a TLS record."""
    first = next((p.payload for p, side in zip(conn.packets, conn.from_client)
                  if side and p.payload), b"")
    if len(first) < 3 or first[0] not in CONTENT_TYPES or first[1] != 3:
        return None  # cheap exit before reassembling a long non-TLS stream
    streams = {side: reassemble(conn, side) for side in (True, False)}
    recs: list[_Rec] = []
    for side, stream in streams.items():
        split = split_records(stream, side)
        if split is None:
            return None
        recs += split
    if not any(r.record.from_client for r in recs):
        return None
    recs.sort(key=lambda r: (r.record.index, r.record.offset))
    state = _Reader()
    for rec in recs:
        state.feed(rec)
    state.label_tls13()
    return state.session(conn.stream, streams, recs)


class _Reader:
    def __init__(self) -> None:
        self.msgs: list[TlsMessage] = []
        self.sh: tm.ServerHello | None = None
        self.ch: tm.ClientHello | None = None
        self.kx: str | None = None
        self.hrr = False
        self.ccs = {True: False, False: False}  # TLS <= 1.2: side now encrypts
        self.buf = {True: bytearray(), False: bytearray()}
        self.used = {True: 0, False: 0}
        self.where: dict[bool, list[tuple[int, int, ByteStream]]] = {True: [], False: []}

    @property
    def tls13(self) -> bool:
        return bool(self.sh and self.sh.tls13 and not self.sh.hello_retry_request)

    def _msg(self, rec: _Rec, kind: str, **kw) -> None:
        r = rec.record
        first = rec.stream.chunk_at(r.offset)
        self.msgs.append(TlsMessage(r.from_client, kind, r.index, r.ts_ns, first.index,
                                    first.ts_ns, r.length, **kw))

    def feed(self, rec: _Rec) -> None:
        side, ctype, body = rec.record.from_client, rec.ctype, rec.body
        if ctype == _CCS:
            note = "middlebox-compatibility CCS: changes nothing in TLS 1.3" \
                if self.tls13 or self.hrr else None
            self._msg(rec, "ChangeCipherSpec", note=note)
            self.ccs[side] = not (self.tls13 or self.hrr)
        elif ctype == _ALERT and len(body) == 2:
            self._msg(rec, "Alert", detail=tm.parse_alert(body))
        elif ctype == _ALERT:
            self._msg(rec, "EncryptedAlert", encrypted=True)
        elif ctype == _APPDATA and self.tls13:
            self._msg(rec, "", encrypted=True)  # labelled later by label_tls13()
        elif ctype == _APPDATA:
            self._msg(rec, "ApplicationData", encrypted=True)
        elif ctype == _HANDSHAKE and self.ccs[side]:
            done = any(m.kind == "Finished" and m.from_client == side for m in self.msgs)
            self._msg(rec, "EncryptedHandshake" if done else "Finished", encrypted=True)
        elif ctype == _HANDSHAKE:
            self._handshake(rec)
        else:
            self._msg(rec, "Heartbeat")

    def _handshake(self, rec: _Rec) -> None:
        side = rec.record.from_client
        buf, where = self.buf[side], self.where[side]
        where.append((len(buf), rec.body_offset, rec.stream))
        buf += rec.body
        while len(buf) - self.used[side] >= 4:
            start = self.used[side]
            end = start + 4 + int.from_bytes(buf[start + 1:start + 4], "big")
            if end > len(buf):
                break
            self.used[side] = end
            self._handshake_message(side, bytes(buf[start:end]),
                                    self._locate(side, start), self._locate(side, end - 1))

    def _locate(self, side: bool, pos: int):
        """The stream chunk holding handshake-buffer byte `pos`."""
        buf_pos, stream_off, stream = next(w for w in reversed(self.where[side]) if w[0] <= pos)
        return stream.chunk_at(stream_off + pos - buf_pos)

    def _handshake_message(self, side: bool, msg: bytes, first, last) -> None:
        kind = tm.HANDSHAKE_TYPES.get(msg[0], f"handshake type {msg[0]}")
        detail: Detail = None
        note = None
        try:
            if msg[0] == 1:
                detail = tm.parse_client_hello(msg)
                self.ch = self.ch or detail
            elif msg[0] == 2:
                detail = self.sh = tm.parse_server_hello(msg)
                self.hrr = self.hrr or detail.hello_retry_request
                self.kx = tm.key_exchange_of(detail.cipher_suite)
                if detail.hello_retry_request:
                    kind = "HelloRetryRequest"
            elif msg[0] == 11:
                detail = tm.parse_certificate(msg)
            elif msg[0] == 12:
                detail = tm.parse_server_key_exchange(msg, self.kx or "unknown")
            elif msg[0] == 16:
                detail = tm.parse_client_key_exchange(msg, self.kx or "unknown")
        except ValueError as exc:
            note = f"not parsed: {exc}"
        self.msgs.append(TlsMessage(side, kind, last.index, last.ts_ns, first.index,
                                    first.ts_ns, len(msg), note=note, detail=detail))

    def label_tls13(self) -> None:
        """Name TLS 1.3's encrypted records from their order and sizes.

        Inner plaintext is content + 1 type byte + AEAD tag, and OpenSSL,
        like most stacks, sends one handshake message per record unpadded,
        so a Finished record is hash + 4 + 1 + tag bytes and an alert 2 + 1 + tag.
        """
        msgs = self.msgs
        pending = [i for i, m in enumerate(msgs) if m.kind == ""]
        if not pending or self.sh is None:
            return
        suite = self.sh.cipher_suite
        tag = 8 if suite.endswith("CCM_8_SHA256") else 16
        fin_len = (48 if suite.endswith("SHA384") else 32) + 5 + tag
        alert_len = 3 + tag
        client = [i for i in pending if msgs[i].from_client]
        client_fin = next((i for i in client if msgs[i].length == fin_len), None)
        # The server's first flight is what it sent before the client answered.
        cut = client_fin if client_fin is not None else (client[0] if client else len(msgs))
        flight = [i for i in pending if not msgs[i].from_client and i < cut]
        server_fin = next((i for i in reversed(flight) if msgs[i].length == fin_len), None)
        labels: dict[int, str] = {}
        if server_fin is not None:
            before = flight[:flight.index(server_fin)]
            labels.update(zip(before + [server_fin], _names(len(before), {
                1: ["EncryptedExtensions"],
                3: ["EncryptedExtensions", "Certificate", "CertificateVerify"],
                4: ["EncryptedExtensions", "CertificateRequest", "Certificate",
                    "CertificateVerify"]}) + ["Finished"]))
        if client_fin is not None:
            before = [i for i in client if i < client_fin]
            labels.update(zip(before + [client_fin], _names(len(before), {
                1: ["Certificate"], 2: ["Certificate", "CertificateVerify"]}) + ["Finished"]))
        for i in pending:
            m, kw = msgs[i], {"inferred": True}
            if i in labels:
                kind = labels[i]
            elif m.length == alert_len:
                kind, kw["note"] = "EncryptedAlert", "probably close_notify or a fatal alert"
            elif i in flight or (client_fin is None and m.from_client):
                kind = "EncryptedHandshake"
            else:
                kind, kw = "ApplicationData", {}
                if not m.from_client:
                    kw["note"] = ("may be a NewSessionTicket: TLS 1.3 hides it "
                                  "in application_data records")
            msgs[i] = replace(m, kind=kind, **kw)

    def session(self, stream: int, streams: dict, recs: list[_Rec]) -> TlsSession:
        sh, ch = self.sh, self.ch
        fins = [m for m in self.msgs if m.kind == "Finished"]
        done = None
        if self.tls13:
            done = next((m for m in fins if m.from_client), None)
        elif {m.from_client for m in fins} == {True, False}:
            done = max(fins, key=lambda m: m.index)
        chain = next((m.detail for m in self.msgs if isinstance(m.detail, tm.CertificateChain)),
                     None)
        sizes = {side: tuple(m.length for m in self.msgs
                             if m.kind == "ApplicationData" and m.from_client == side)
                 for side in (True, False)}
        return TlsSession(
            stream=stream, version=sh.version if sh else None, tls13=self.tls13,
            cipher_suite=sh.cipher_suite if sh else None, key_exchange=self.kx,
            sni=ch.sni if ch else None, alpn=sh.alpn if sh else None,
            hello_retry_request=self.hrr,
            certificates=chain.certificates if chain else (),
            alerts=tuple(m.detail for m in self.msgs if isinstance(m.detail, tm.Alert)),
            handshake_complete_index=done.index if done else None,
            handshake_complete_ts_ns=done.ts_ns if done else None,
            client_app_data_sizes=sizes[True], server_app_data_sizes=sizes[False],
            client_stream_complete=streams[True].complete,
            server_stream_complete=streams[False].complete,
            messages=tuple(self.msgs), records=tuple(r.record for r in recs))


def _names(n: int, by_count: dict[int, list[str]]) -> list[str]:
    return by_count.get(n, ["EncryptedHandshake"] * n)
