"""TLS 1.2's half of the record walker: the master secret (key log, server
key or an earlier session), the key block, and opening records after each
side's ChangeCipherSpec."""
from __future__ import annotations

from lab.decrypt import kdf, messages, rsa_kx
from lab.decrypt.keylog import TLS12_MASTER
from lab.decrypt.model import RecordView
from lab.decrypt.records import CONTENT_TYPES, RecordKeys, decrypt12


_HANDSHAKE = 22


class Tls12:
    """Mixed into session._Walker, whose state these methods use."""

    def _rsa_check(self, cke: bytes) -> None:
        spec = self.spec
        if not self.server_keys or spec is None or self.client_random is None:
            return
        extended = "extended_master_secret" in self.sh.extensions
        try:
            self.rsa = rsa_kx.check(
                self.server_keys, self.leaf_der, cke, spec.hash_name, self.client_random,
                self.server_random, extended, self.transcript.hash(spec.hash_name),
                self.keylog.get(TLS12_MASTER, self.client_random), self.keylog.rsa)
        except ValueError as exc:
            self.problems.append(f"ClientKeyExchange: {exc}")
        if self.rsa is None:
            self.problems.append("no server key opens the pre-master secret")

    def _master12(self) -> bytes | None:
        if self.master is not None or self.client_random is None:
            return self.master
        logged = self.keylog.get(TLS12_MASTER, self.client_random)
        if logged is not None:
            self.master, self.master_from = logged, "key log"
        elif self.rsa is not None:
            self.master, self.master_from = self.rsa.master, f"server key {self.rsa.key_file}"
        elif self.sh is not None:
            self.master, self.master_from = self._resumed()
        return self.master

    def _resumed(self) -> tuple[bytes | None, str | None]:
        """The master secret of the session this handshake resumes, if seen."""
        sid = bytes.fromhex(self.sh.session_id)
        if sid and self.ch and self.ch.session_id == self.sh.session_id:
            master = self.sessions.get(b"id:" + sid)
            if master is not None:
                return master, "an earlier connection (session ID resumption)"
        try:
            ticket = messages.client_hello_extension(self.ch_raw, 35)
        except ValueError:
            ticket = None
        if ticket:
            master = self.sessions.get(b"ticket:" + ticket)
            if master is not None:
                return master, "an earlier connection (session ticket resumption)"
        return None, None

    def _start12(self, side: bool) -> None:
        spec, master = self.spec, self._master12()
        if spec is None or master is None or self.server_random is None:
            return
        size = 2 * (spec.key_len + spec.fixed_iv_len)
        block = kdf.key_block(spec.hash_name, master, self.client_random, self.server_random,
                              size)
        k, v = spec.key_len, spec.fixed_iv_len
        key = block[0:k] if side else block[k:2 * k]
        iv = block[2 * k:2 * k + v] if side else block[2 * k + v:2 * k + 2 * v]
        st = self.sides[side]
        st.keys, st.seq, st.phase = RecordKeys(spec, key, iv), 0, "session"

    def _open12(self, rec, st) -> RecordView:
        r = rec.record
        if st.keys is None:
            why = "no master secret for this client random" if self.spec else \
                f"cipher suite {self.sh.cipher_suite if self.sh else '?'} is not decrypted"
            return RecordView(r, True, error=why)
        version = rec.stream.data[r.offset + 1:r.offset + 3]
        try:
            plain = decrypt12(st.keys, st.seq, rec.ctype, version, rec.body)
        except ValueError as exc:
            return RecordView(r, True, error=str(exc))
        st.seq += 1
        msgs = self._decrypted_handshake(rec, st, plain) if rec.ctype == _HANDSHAKE else ()
        return RecordView(r, True, True, CONTENT_TYPES.get(rec.ctype, str(rec.ctype)),
                          b"" if rec.ctype == _HANDSHAKE else plain, tuple(msgs), "session")
