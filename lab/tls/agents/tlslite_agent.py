"""TLS client or server on tlslite-ng, a pure-Python stack independent of
OpenSSL and GnuTLS.

tlslite-ng validates no certificate chains, so this agent does it (see
lab.tls.agents.verify) *after* the handshake has finished, as tlslite-ng offers
no hook inside it, and then aborts with the alert OpenSSL would send.
It writes no key log either: this agent records the secrets tlslite-ng derives
(TLS 1.3: every traffic secret, by wrapping its derive_secret; TLS 1.2: the
master secret) and writes NSS key-log lines itself.
"""
from __future__ import annotations

import os
import socket
import sys

import tlslite.tlsconnection as tlsconn
from tlslite.api import (HandshakeSettings, SessionCache, TLSConnection, X509CertChain,
                         parsePEMKey)
from tlslite.errors import (BaseTLSException, TLSAbruptCloseError, TLSError, TLSLocalAlert,
                            TLSRemoteAlert)
from tlslite.handshakehelpers import HandshakeHelpers

from lab.tls.agents.common import (Clock, cert_summary, connect, decode_args, emit, log,
                                   read_all, read_request, serve_forever, spki_pin)
from lab.tls.agents.verify import verify_chain
from lab.tls.names import ALERTS, group_name, suite, suite_by_code
from lab.tls.roles import ClientSpec, Outcome, ServerSpec, http_response

NAME = "tlslite"
VERSIONS = {"1.0": (3, 1), "1.1": (3, 2), "1.2": (3, 3), "1.3": (3, 4)}
VERSION_NAMES = {(3, 1): "TLSv1.0", (3, 2): "TLSv1.1", (3, 3): "TLSv1.2", (3, 4): "TLSv1.3"}
TLS13_LABELS = {b"c hs traffic": "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
                b"s hs traffic": "SERVER_HANDSHAKE_TRAFFIC_SECRET",
                b"c ap traffic": "CLIENT_TRAFFIC_SECRET_0",
                b"s ap traffic": "SERVER_TRAFFIC_SECRET_0",
                b"exp master": "EXPORTER_SECRET"}

# --- key log -----------------------------------------------------------------
_secrets: list[tuple[str, bytes]] = []
_derive_secret = tlsconn.derive_secret


def _recording_derive_secret(secret, label, handshake_hashes, algorithm):
    out = _derive_secret(secret, label, handshake_hashes, algorithm)
    name = TLS13_LABELS.get(bytes(label))
    if name:
        _secrets.append((name, bytes(out)))
    return out


tlsconn.derive_secret = _recording_derive_secret

# tlslite-ng 0.8.2's TLS 1.3 server always reports resumed=False and never sets
# _clientRandom. A binder that verifies means the server took that PSK, and the
# ClientHello random is recorded on the way into the TLS 1.3 server handshake.
_psk_accepted: list[bool] = []
_verify_binder = HandshakeHelpers.verify_binder


def _recording_verify_binder(*args, **kwargs):
    result = _verify_binder(*args, **kwargs)
    _psk_accepted.append(True)
    return result


HandshakeHelpers.verify_binder = staticmethod(_recording_verify_binder)
_server_tls13 = TLSConnection._serverTLS13Handshake


def _recording_server_tls13(self, settings, clientHello, *args, **kwargs):
    self._clientRandom = clientHello.random
    return _server_tls13(self, settings, clientHello, *args, **kwargs)


TLSConnection._serverTLS13Handshake = _recording_server_tls13


def write_keylog(path: str | None, conn: TLSConnection) -> None:
    random = bytes(conn._clientRandom)
    if not path or not random:
        return
    if conn.version >= (3, 4):
        lines = [f"{name} {random.hex()} {value.hex()}" for name, value in _secrets]
    else:
        lines = [f"CLIENT_RANDOM {random.hex()} {bytes(conn.session.masterSecret).hex()}"]
    with open(path, "a") as f:
        f.write("".join(line + "\n" for line in lines))


# --- configuration ------------------------------------------------------------
def settings_for(spec: ServerSpec | ClientSpec) -> HandshakeSettings:
    s = HandshakeSettings()
    s.minVersion, s.maxVersion = VERSIONS[spec.min_version], VERSIONS[spec.max_version]
    # tlslite-ng 0.8.2 sends a CompressedCertificate (RFC 8879) as a client even
    # when the server's CertificateRequest did not offer compression; OpenSSL
    # 3.0, GnuTLS 3.7 and CPython then abort with unexpected_message.
    s.certificate_compression_send = []
    suites = [suite(c) for c in spec.ciphers]
    if suites:
        s.cipherNames = list(dict.fromkeys(x.tlslite[1] for x in suites))
        s.macNames = list(dict.fromkeys(x.tlslite[2] for x in suites))
        kx = [x.tlslite[0] for x in suites if x.tlslite[0]]
        if kx:
            s.keyExchangeNames = list(dict.fromkeys(kx))
    if spec.groups:
        s.eccCurves = [g for g in spec.groups if not g.startswith("ffdhe")]
        s.dhGroups = [g for g in spec.groups if g.startswith("ffdhe")]
        s.keyShares = list(spec.groups[:1])
    return s


def load_chain(path: str) -> X509CertChain:
    chain = X509CertChain()
    with open(path) as f:
        chain.parsePemList(f.read())
    return chain


def load_key(path: str):
    with open(path) as f:
        return parsePEMKey(f.read(), private=True)


def abort(conn: TLSConnection, alert: str, reason: str) -> None:
    try:
        for _ in conn._sendError(next(k for k, v in ALERTS.items() if v == alert), reason):
            pass
    except TLSError:
        pass


def describe(out: Outcome, conn: TLSConnection, chain) -> None:
    out.connected = True
    out.version = VERSION_NAMES.get(tuple(conn.version))
    code = conn.session.cipherSuite
    out.cipher = suite_by_code(code).iana if suite_by_code(code) else f"0x{code:04x}"
    out.group = group_name(conn.ecdhCurve) if conn.ecdhCurve and not (
        conn.resumed and out.version == "TLSv1.2") else None  # abbreviated: no key exchange
    out.resumed = bool(conn.resumed or _psk_accepted)
    if chain is not None and chain.x509List:
        cert_summary(out, bytes(chain.x509List[0].bytes))


def failed(out: Outcome, exc: BaseException, stage: str) -> None:
    out.error_message = f"{stage}: {exc!r}"
    if isinstance(exc, TLSRemoteAlert):
        out.error_class, out.alert_received = "alert_received", ALERTS.get(exc.description)
    elif isinstance(exc, TLSLocalAlert):
        out.alert_sent = ALERTS.get(exc.description)
        out.error_class = "handshake_failed" if stage == "handshake" else "io_error"
    elif isinstance(exc, socket.timeout):
        out.error_class = "timeout"
    else:
        out.error_class = "handshake_failed" if stage == "handshake" else "io_error"


# --- roles ---------------------------------------------------------------------
def client_once(spec: ClientSpec, index: int, timeout: float, session):
    out = Outcome(implementation=NAME, role="client", index=index)
    clock = Clock()
    sock = connect(spec, timeout, out, clock)
    if sock is None:
        return out, None
    conn = TLSConnection(sock)
    _secrets.clear()
    stage = "handshake"
    try:
        cert = (load_chain(spec.cert), load_key(spec.key)) if spec.cert else (None, None)
        conn.handshakeClientCert(cert[0], cert[1], session=session, settings=settings_for(spec),
                                 serverName=spec.sni)
        out.timings.handshake_done = clock.since()
        write_keylog(spec.keylog, conn)
        chain = conn.session.serverCertChain
        if conn.resumed and not chain and session is not None:
            chain = session.serverCertChain  # verified when the session was made
        describe(out, conn, chain)
        ders = [bytes(c.bytes) for c in chain.x509List] if chain else []
        bad = None
        if spec.verify and not conn.resumed:
            bad = verify_chain(ders, spec.ca, spec.sni or spec.address, server=False)
        if bad is None and spec.pin and (not ders or spki_pin(ders[0]) != spec.pin):
            bad = ("bad_certificate", "server public key does not match the pin")
        if bad:
            abort(conn, *bad)
            out.connected, out.alert_sent = False, bad[0]
            out.error_class = "pin_mismatch" if "pin" in bad[1] else "verify_failed"
            out.error_message = bad[1]
            out.notes.append("checked after the handshake: tlslite-ng has no verification hook")
            return out, None
        stage = "data"
        conn.write(spec.data)
        out.set_sent(spec.data)
        out.set_received(read_all(conn.recv, out, clock, (TLSAbruptCloseError,)))
        session = conn.session
        conn.close()
        return out, session
    except (BaseTLSException, OSError) as exc:  # TLSDecryptionFailed is no TLSError
        failed(out, exc, stage)
        return out, None
    finally:
        sock.close()


def server_once(spec: ServerSpec, ctx: dict, conn_sock: socket.socket, index: int) -> Outcome:
    out = Outcome(implementation=NAME, role="server", index=index)
    clock = Clock()
    out.timings.tcp_connect = 0.0
    conn = TLSConnection(conn_sock)
    _secrets.clear()
    _psk_accepted.clear()
    stage = "handshake"
    try:
        conn.handshakeServer(certChain=ctx["chain"], privateKey=ctx["key"], settings=ctx["settings"],
                             sessionCache=ctx["cache"], reqCert=bool(spec.client_ca))
        out.timings.handshake_done = clock.since()
        write_keylog(spec.keylog, conn)
        chain = conn.session.clientCertChain
        describe(out, conn, chain)
        if spec.client_ca:
            ders = [bytes(c.bytes) for c in chain.x509List] if chain else []
            bad = verify_chain(ders, spec.client_ca, None, server=True)
            if bad:
                abort(conn, *bad)
                out.connected, out.alert_sent = False, bad[0]
                out.error_class, out.error_message = "verify_failed", bad[1]
                return out
        stage = "data"
        request = read_request(conn.recv, out, clock)
        out.set_received(request)
        if request:
            reply = http_response(spec.response)
            conn.write(reply)
            out.set_sent(reply)
        conn.close()
    except (BaseTLSException, OSError) as exc:  # TLSDecryptionFailed is no TLSError
        failed(out, exc, stage)
    return out


def main(argv: list[str]) -> int:
    role, spec, timeout = decode_args(argv[1])
    if role == "server":
        settings = settings_for(spec)
        if spec.resumption and spec.tickets:
            settings.ticketKeys = [os.urandom(32)]
        ctx = {"chain": load_chain(spec.cert), "key": load_key(spec.key), "settings": settings,
               "cache": SessionCache() if spec.resumption else None}
        serve_forever(spec.port, timeout, lambda conn, i: server_once(spec, ctx, conn, i))
        return 0
    session = None
    for index in range(spec.count):
        out, new_session = client_once(spec, index, timeout, session if spec.resume else None)
        session = new_session or session
        log(f"connection {index}: connected={out.connected} error={out.error_message}")
        emit(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
