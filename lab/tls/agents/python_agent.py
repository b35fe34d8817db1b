"""TLS client or server on CPython's `ssl` module (the system OpenSSL underneath).

CPython 3.11 reports neither the negotiated group nor the alerts on the wire,
so the agent listens to OpenSSL's message callback (`SSLContext._msg_callback`,
a private but long-standing CPython hook) and reads them off the handshake
messages themselves. Key logs use `SSLContext.keylog_filename`.
"""
from __future__ import annotations

import socket
import ssl
import sys

from lab.tls.agents.common import (Clock, cert_summary, connect, decode_args, emit, log,
                                   read_all, read_request, serve_forever, spki_pin)
from lab.tls.names import ALERTS, alert_name, group_name, suite, version_name
from lab.tls.roles import ClientSpec, Outcome, ServerSpec, http_response
from lab.tls.wire import server_hello_group, server_key_exchange_group

NAME = "python"
VERSIONS = {"1.0": ssl.TLSVersion.TLSv1, "1.1": ssl.TLSVersion.TLSv1_1,
            "1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}
ALERT, HANDSHAKE = 21, 22
# set_ecdh_curve takes OpenSSL short names (OBJ_sn2nid).
CURVES = {"secp256r1": "prime256v1", "secp384r1": "secp384r1", "secp521r1": "secp521r1",
          "x25519": "X25519", "x448": "X448"}


class Observer:
    """Collects alerts and the group for the connection in progress."""

    def __init__(self):
        self.outcome: Outcome | None = None

    def __call__(self, conn, direction, version, content_type, msg_type, data):
        out = self.outcome
        if out is None:
            return
        if content_type == ALERT and len(data) == 2 and data[1] != 0:
            name = ALERTS.get(data[1], f"alert_{data[1]}")
            if direction == "write" and out.alert_sent is None:
                out.alert_sent = name
            elif direction == "read" and out.alert_received is None:
                out.alert_received = name
        elif content_type == HANDSHAKE and data:
            gid = server_hello_group(data) or server_key_exchange_group(data)
            if gid is not None:
                out.group = group_name(gid)


def make_context(role: str, spec: ServerSpec | ClientSpec, observer: Observer) -> ssl.SSLContext:
    server = role == "server"
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if server else ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = VERSIONS[spec.min_version]
    ctx.maximum_version = VERSIONS[spec.max_version]
    tls12 = [suite(c).openssl for c in spec.ciphers if not suite(c).tls13]
    if tls12:
        ctx.set_ciphers(":".join(tls12))
    if spec.groups:
        ctx.set_ecdh_curve(CURVES[spec.groups[0]])
    if spec.keylog:
        ctx.keylog_filename = spec.keylog
    ctx._msg_callback = observer
    if server:
        ctx.load_cert_chain(spec.cert, spec.key)
        if spec.client_ca:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(spec.client_ca)
        if not spec.tickets or not spec.resumption:
            ctx.options |= ssl.OP_NO_TICKET
        if not spec.resumption:
            ctx.num_tickets = 0
    else:
        if spec.verify:
            ctx.load_verify_locations(spec.ca)
        else:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if spec.cert:
            ctx.load_cert_chain(spec.cert, spec.key)
    return ctx


def describe(out: Outcome, ssock: ssl.SSLSocket) -> None:
    out.connected = True
    out.version = version_name(ssock.version())
    name = ssock.cipher()[0]
    out.cipher = suite(name).iana if suite(name) else name
    out.resumed = ssock.session_reused
    cert_summary(out, ssock.getpeercert(binary_form=True))


# OpenSSL errors where it aborts with an alert of its own (ssl/statem: SSLfatal).
LOCAL_ALERTS = {
    "INAPPROPRIATE_FALLBACK": "illegal_parameter",  # RFC 8446 4.1.3 downgrade sentinel seen
}


def failed(out: Outcome, exc: BaseException, stage: str) -> None:
    out.error_message = f"{stage}: {exc}"
    if isinstance(exc, ssl.SSLCertVerificationError):
        out.error_class = "verify_failed"
        out.error_message = f"{stage}: {exc.verify_message} (verify error {exc.verify_code})"
    elif isinstance(exc, ssl.SSLError) and "ALERT_" in (getattr(exc, "reason", None) or "") \
            and alert_name(exc.reason):
        # Only OpenSSL's *_ALERT_* reasons are alerts from the peer; others
        # (INAPPROPRIATE_FALLBACK, ...) are this side's own verdicts.
        out.error_class = "alert_received"
        out.alert_received = out.alert_received or alert_name(exc.reason)
    elif isinstance(exc, ssl.SSLError) and exc.reason in LOCAL_ALERTS:
        out.error_class = "handshake_failed"
        out.alert_sent = LOCAL_ALERTS[exc.reason]
    elif isinstance(exc, (socket.timeout, TimeoutError)):
        out.error_class = "timeout"
    elif stage == "handshake":
        out.error_class = "handshake_failed"
    else:
        out.error_class = "io_error"


def close_tls(ssock: ssl.SSLSocket) -> None:
    """Send close_notify; the peer may already be gone, which is fine."""
    try:
        ssock.settimeout(2)
        ssock.unwrap()
    except (OSError, ValueError):
        pass


def client_once(ctx, observer, spec: ClientSpec, index: int, timeout: float, session):
    out = Outcome(implementation=NAME, role="client", index=index)
    observer.outcome = out
    clock = Clock()
    sock = connect(spec, timeout, out, clock)
    if sock is None:
        return out, None
    name = spec.sni or spec.address
    ssock = ctx.wrap_socket(sock, server_hostname=name, session=session,
                            do_handshake_on_connect=False)
    stage = "handshake"
    try:
        ssock.do_handshake()
        out.timings.handshake_done = clock.since()
        describe(out, ssock)
        if spec.pin and spki_pin(ssock.getpeercert(binary_form=True)) != spec.pin:
            # No in-handshake hook in CPython: the check runs after Finished.
            out.error_class, out.error_message = "pin_mismatch", "server public key does not match the pin"
            out.connected = False
            return out, None
        stage = "data"
        ssock.sendall(spec.data)
        out.set_sent(spec.data)
        out.set_received(read_all(ssock.recv, out, clock, (ssl.SSLZeroReturnError, ssl.SSLEOFError)))
        session = ssock.session  # after reading: TLS 1.3 tickets arrive post-handshake
        close_tls(ssock)
        return out, session
    except (OSError, ssl.SSLError) as exc:
        failed(out, exc, stage)
        return out, None
    finally:
        observer.outcome = None
        ssock.close()


def server_once(ctx, observer, spec: ServerSpec, conn: socket.socket, index: int) -> Outcome:
    out = Outcome(implementation=NAME, role="server", index=index)
    observer.outcome = out
    clock = Clock()
    out.timings.tcp_connect = 0.0
    stage = "handshake"
    try:
        ssock = ctx.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
        ssock.do_handshake()
        out.timings.handshake_done = clock.since()
        describe(out, ssock)
        stage = "data"
        request = read_request(ssock.recv, out, clock)
        out.set_received(request)
        if not request:  # e.g. the first connection of gnutls-cli --resume
            out.notes.append("client closed without sending a request")
            return out
        reply = http_response(spec.response)
        ssock.sendall(reply)
        out.set_sent(reply)
        close_tls(ssock)
    except (OSError, ssl.SSLError) as exc:
        failed(out, exc, stage)
    finally:
        observer.outcome = None
    return out


def main(argv: list[str]) -> int:
    role, spec, timeout = decode_args(argv[1])
    observer = Observer()
    ctx = make_context(role, spec, observer)
    if role == "server":
        serve_forever(spec.port, timeout, lambda conn, i: server_once(ctx, observer, spec, conn, i))
        return 0
    session = None
    for index in range(spec.count):
        out, new_session = client_once(ctx, observer, spec, index, timeout,
                                       session if spec.resume else None)
        session = new_session or session
        log(f"connection {index}: connected={out.connected} error={out.error_message}")
        emit(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
