"""Open every TLS record of one connection: plaintext ones as they are,
encrypted ones with the secrets of a key log or the server's RSA key.

Records are taken in the order lab.analysis.tls takes them (by the packet
that completed them), so the handshake transcript is in protocol order when
Finished messages are checked and the extended master secret is computed.
Without any secrets this still returns every record with its handshake
messages' raw bytes, which the inspect view shows field by field.
"""
from __future__ import annotations

from lab.analysis import tls_messages as tm
from lab.analysis.stream import reassemble
from lab.analysis.tcp import Connection
from lab.analysis.tls import TlsRecord, split_records
from lab.decrypt import kdf, messages, rsa_kx
from lab.decrypt.keylog import CLIENT_APP, CLIENT_HS, SERVER_APP, SERVER_HS, KeyLog
from lab.decrypt.model import Decryption, HandshakeMessage, RecordView
from lab.decrypt.records import CONTENT_TYPES, RecordKeys, cipher_spec, decrypt13
from lab.decrypt.tls12 import Tls12
from lab.decrypt.transcript import Transcript

_CCS, _ALERT, _HANDSHAKE, _APPDATA = 20, 21, 22, 23


def open_connection(conn: Connection, keylog: KeyLog | None = None,
                    server_keys: list[rsa_kx.ServerKey] | None = None,
                    sessions: dict[bytes, bytes] | None = None) -> Decryption | None:
    """None when the connection does not carry TLS.

    sessions carries TLS 1.2 master secrets from one connection to the next
    (by session ID and ticket): a resumed handshake reuses its original's
    master secret, and clients do not always log it again. Pass the same
    dict for every connection of a capture, in capture order.
    """
    first = next((p.payload for p, side in zip(conn.packets, conn.from_client)
                  if side and p.payload), b"")
    if len(first) < 3 or first[0] not in CONTENT_TYPES or first[1] != 3:
        return None  # not TLS: skip reassembling what may be a long bulk stream
    recs = []
    for side in (True, False):
        split = split_records(reassemble(conn, side), side)
        if split is None:
            return None
        recs += split
    recs.sort(key=lambda r: (r.record.index, r.record.offset))
    walker = _Walker(keylog or KeyLog(), server_keys or [], {} if sessions is None else sessions)
    views = [walker.feed(rec) for rec in recs]
    return walker.result(views)


class _Side:
    """One direction's decryption state."""

    def __init__(self) -> None:
        self.encrypting = False  # TLS <= 1.2: after this side's ChangeCipherSpec
        self.keys: RecordKeys | None = None
        self.seq = 0
        self.phase = ""
        self.secret = b""  # TLS 1.3: the current traffic secret
        self.plain = bytearray()  # handshake bytes awaiting a whole message
        self.plain_at: list[tuple[int, int, object]] = []
        self.dec = bytearray()
        self.dec_first: list[tuple[int, int, int]] = []  # (pos, first_index, first_ts)


class _Walker(Tls12):
    """Reads one connection's records in order; open_connection's private state."""

    def __init__(self, keylog: KeyLog, server_keys: list[rsa_kx.ServerKey], sessions: dict):
        self.keylog, self.server_keys, self.sessions = keylog, server_keys, sessions
        self.ch_raw = b""
        self.tickets: list[bytes] = []
        self.sides = {True: _Side(), False: _Side()}
        self.transcript = Transcript()
        self.ch: tm.ClientHello | None = None
        self.sh: tm.ServerHello | None = None
        self.client_random: bytes | None = None
        self.server_random: bytes | None = None
        self.leaf_der: bytes | None = None
        self.hrr = False
        self.master: bytes | None = None
        self.master_from: str | None = None
        self.rsa: rsa_kx.RsaCheck | None = None
        self.problems: list[str] = []

    # -- negotiated state --------------------------------------------------

    @property
    def tls13(self) -> bool:
        return bool(self.sh and self.sh.tls13 and not self.sh.hello_retry_request)

    @property
    def spec(self):
        return cipher_spec(self.sh.cipher_suite, self.tls13) if self.sh else None

    # -- records -----------------------------------------------------------

    def feed(self, rec) -> RecordView:
        r, side, ctype, body = rec.record, rec.record.from_client, rec.ctype, rec.body
        st = self.sides[side]
        if ctype == _HANDSHAKE and not st.encrypting:
            return RecordView(r, False, messages=tuple(self._plain_handshake(rec, st)))
        if ctype == _CCS:
            if not (self.tls13 or self.hrr):
                st.encrypting = True
                self._start12(side)
            return RecordView(r, False, plaintext=body)
        if ctype == _ALERT and len(body) == 2:
            return RecordView(r, False, plaintext=body)
        if ctype == _APPDATA and self.tls13:
            return self._open13(rec, st)
        if st.encrypting:
            return self._open12(rec, st)
        return RecordView(r, ctype == _APPDATA, error="encrypted before any key change was seen")

    def _plain_handshake(self, rec, st: _Side) -> list[HandshakeMessage]:
        st.plain_at.append((len(st.plain), rec.body_offset, rec.stream))
        st.plain += rec.body
        out = []
        side = rec.record.from_client
        while len(st.plain) >= 4:
            end = 4 + int.from_bytes(st.plain[1:4], "big")
            if end > len(st.plain):
                break
            raw = bytes(st.plain[:end])
            first, last = self._locate(st, 0), self._locate(st, end - 1)
            del st.plain[:end]
            st.plain_at = [(pos - end, off, s) for pos, off, s in st.plain_at]
            msg = HandshakeMessage(side, raw[0], raw, first.index, first.ts_ns, last.index,
                                   last.ts_ns, False)
            out.append(msg)
            self._on_plain_message(msg)
        return out

    @staticmethod
    def _locate(st: _Side, pos: int):
        buf_pos, off, stream = next(w for w in reversed(st.plain_at) if w[0] <= pos)
        return stream.chunk_at(off + pos - buf_pos)

    def _on_plain_message(self, msg: HandshakeMessage) -> None:
        raw = msg.raw
        try:
            if msg.type == 1:
                self.ch = self.ch or tm.parse_client_hello(raw)
                self.client_random, self.ch_raw = raw[6:38], raw
            elif msg.type == 2:
                self.sh = tm.parse_server_hello(raw)
                self.server_random = raw[6:38]
                if self.sh.hello_retry_request:
                    self.hrr = True
                    self.transcript.retry(self.spec.hash_name if self.spec else "sha256")
            elif msg.type == 4 and not self.tls13:
                self.tickets.append(messages.ticket12(raw))
            elif msg.type == 11 and self.leaf_der is None:
                ders = messages.certificate_ders(raw, False)
                self.leaf_der = ders[0] if ders else None
        except ValueError as exc:
            self.problems.append(f"{tm.HANDSHAKE_TYPES.get(msg.type, msg.type)}: {exc}")
        self.transcript.add(raw)
        if msg.type == 2 and self.tls13:
            self._start13()
        elif msg.type == 16 and self.sh and tm.key_exchange_of(self.sh.cipher_suite) == "rsa":
            self._rsa_check(raw)

    # -- TLS 1.3 -----------------------------------------------------------

    def _start13(self) -> None:
        spec, cr = self.spec, self.client_random
        if spec is None:
            self.problems.append(f"cipher suite {self.sh.cipher_suite} is not decrypted")
            return
        for side, label in ((True, CLIENT_HS), (False, SERVER_HS)):
            secret = self.keylog.get(label, cr) if cr else None
            if secret is not None:
                self._use13(self.sides[side], secret, "handshake")

    def _use13(self, st: _Side, secret: bytes, phase: str) -> None:
        spec = self.spec
        key, iv = kdf.traffic_key_iv(spec.hash_name, secret, spec.key_len)
        st.keys, st.secret, st.seq, st.phase = RecordKeys(spec, key, iv), secret, 0, phase

    def _app_secret(self, side: bool) -> bytes | None:
        cr = self.client_random
        return self.keylog.get(CLIENT_APP if side else SERVER_APP, cr) if cr else None

    def _open13(self, rec, st: _Side) -> RecordView:
        r, side = rec.record, rec.record.from_client
        if st.keys is None:
            return RecordView(r, True, error="no TLS 1.3 traffic secret in the key log")
        header = rec.stream.data[r.offset:r.offset + 5]
        try:
            ctype, content = decrypt13(st.keys, st.seq, header, rec.body)
        except ValueError as exc:
            app = self._app_secret(side)
            if st.phase != "handshake" or app is None:
                return RecordView(r, True, error=str(exc))
            # The handshake keys' last record is missing: try the next keys.
            self._use13(st, app, "application")
            try:
                ctype, content = decrypt13(st.keys, st.seq, header, rec.body)
            except ValueError:
                return RecordView(r, True, error=str(exc))
        st.seq += 1
        phase = st.phase
        msgs = self._decrypted_handshake(rec, st, content) if ctype == _HANDSHAKE else ()
        return RecordView(r, True, True, CONTENT_TYPES.get(ctype, str(ctype)),
                          b"" if ctype == _HANDSHAKE else content, tuple(msgs), phase)

    def _decrypted_handshake(self, rec, st: _Side, content: bytes) -> list[HandshakeMessage]:
        r = rec.record
        st.dec_first.append((len(st.dec), r.first_index, rec.stream.chunk_at(r.offset).ts_ns))
        st.dec += content
        out = []
        while len(st.dec) >= 4:
            end = 4 + int.from_bytes(st.dec[1:4], "big")
            if end > len(st.dec):
                break
            raw = bytes(st.dec[:end])
            _, first, first_ts = next(w for w in reversed(st.dec_first) if w[0] <= 0)
            del st.dec[:end]
            shifted = [(p - end, i, t) for p, i, t in st.dec_first]
            # Keep the record holding the next byte and the ones after it.
            start = max(n for n, w in enumerate(shifted) if w[0] <= 0)
            st.dec_first = shifted[start:]
            out.append(self._on_decrypted_message(r, raw, first, first_ts))
        return out

    def _on_decrypted_message(self, r: TlsRecord, raw: bytes, first: int, first_ts: int):
        side, tls13 = r.from_client, self.tls13
        try:
            detail = messages.parse_message(raw, tls13)
        except ValueError as exc:
            detail = None
            self.problems.append(f"decrypted {tm.HANDSHAKE_TYPES.get(raw[0], raw[0])}: {exc}")
        if raw[0] == 20 and isinstance(detail, messages.Finished):
            detail = messages.Finished(detail.verify_data, self._verify_finished(side, raw))
        if not (tls13 and raw[0] in (4, 24)):  # post-handshake messages are not hashed
            self.transcript.add(raw)
        st = self.sides[side]
        if tls13 and raw[0] == 20 and st.phase == "handshake":
            app = self._app_secret(side)
            if app is not None:
                self._use13(st, app, "application")
            else:
                st.keys = None
        elif tls13 and raw[0] == 24 and st.keys is not None:
            n = 1 if st.phase == "application" else int(st.phase.split()[-1]) + 1
            self._use13(st, kdf.next_traffic_secret(self.spec.hash_name, st.secret),
                        f"application {n}")
        return HandshakeMessage(side, raw[0], raw, first, first_ts, r.index, r.ts_ns, True, detail)

    def _verify_finished(self, side: bool, raw: bytes) -> bool | None:
        spec = self.spec
        if spec is None:
            return None
        handshake_hash = self.transcript.hash(spec.hash_name)
        if self.tls13:
            secret = self.keylog.get(CLIENT_HS if side else SERVER_HS, self.client_random)
            if secret is None:
                return None
            return kdf.finished13(spec.hash_name, secret, handshake_hash) == raw[4:]
        if self.master is None:
            return None
        return kdf.finished12(spec.hash_name, self.master, side, handshake_hash) == raw[4:]

    # -- summary -----------------------------------------------------------

    def result(self, views: list[RecordView]) -> Decryption:
        if self.master is not None and not self.tls13:
            if self.sh is not None and self.sh.session_id:
                self.sessions[b"id:" + bytes.fromhex(self.sh.session_id)] = self.master
            for ticket in self.tickets:
                self.sessions[b"ticket:" + ticket] = self.master
        enc = [v for v in views if v.encrypted]
        done = sum(v.decrypted for v in enc)
        if self.tls13 and done:
            source = "key log"
        else:
            source = self.master_from if done else None
        if not enc:
            status = "nothing encrypted"
        elif done == len(enc):
            status = f"all {done} encrypted records decrypted"
        else:
            reasons = dict.fromkeys(v.error for v in enc if not v.decrypted and v.error)
            status = f"{done} of {len(enc)} encrypted records decrypted" + \
                (f" ({'; '.join(reasons)})" if reasons else "")
        if self.problems:
            status += "; " + "; ".join(dict.fromkeys(self.problems))
        return Decryption(tuple(views), self.tls13, self.sh.cipher_suite if self.sh else None,
                          self.client_random, source, status,
                          self.master if not self.tls13 else None, self.rsa)
