"""The transparent TLS-intercepting proxy, run on the mitm host:

    python -m lab.mitm.proxy '<json args>'

Per redirected connection: learn the original destination (SO_ORIGINAL_DST)
and the client's SNI (peeked), connect to the real server and take its chain,
present the forged one to the client; if the client completes the handshake,
relay and log every plaintext byte both ways (lab.mitm.eventlog). If the
client refuses, log the alert it sent. Python's ssl (OpenSSL) faces the
client, except for replay-real-cert: OpenSSL refuses a key that does not
match the certificate, so tlslite-ng, which does not check, presents it.
"""
from __future__ import annotations

import hashlib
import select
import socket
import ssl
import threading
import time

from cryptography.hazmat.primitives.serialization import Encoding

from lab.mitm import forging
from lab.mitm.eventlog import EventLog
from lab.mitm.hello import CERTIFICATE, certificate_chain, parse_client_hello, server_name
from lab.mitm.serve import original_dst, read_client_hello, run
from lab.tls.names import ALERTS, alert_name, version_name

ALERT_TYPE, HANDSHAKE_TYPE = 21, 22


class Alerts:
    """OpenSSL's message callback (a CPython hook lab.tls.agents also uses):
    alerts and certificates as they cross, decrypted."""

    def __init__(self):
        self.received: str | None = None
        self.sent: str | None = None
        self.certificates: tuple[bytes, ...] = ()

    def __call__(self, conn, direction, version, content_type, msg_type, data):
        if content_type == ALERT_TYPE and len(data) == 2 and data[1] != 0:
            name = ALERTS.get(data[1], f"alert_{data[1]}")
            if direction == "read":
                self.received = self.received or name
            else:
                self.sent = self.sent or name
        elif content_type == HANDSHAKE_TYPE and data[:1] == bytes([CERTIFICATE]) \
                and direction == "read":
            first = version == ssl.TLSVersion.TLSv1_3
            for tls13 in (first, not first):  # the layouts differ (RFC 8446 4.4.2)
                try:
                    self.certificates = certificate_chain(bytes(data), tls13)
                    break
                except ValueError:
                    continue


class Proxy:
    def __init__(self, opts: dict):
        self.opts = opts
        self.log = EventLog(opts["log"])
        self.ca = forging.load_credential(opts.get("ca_cert"), opts.get("ca_key"))
        self.trusted = forging.load_credential(opts.get("trusted_ca_cert"), opts.get("trusted_ca_key"))
        self.timeout = float(opts.get("timeout", 10.0))
        self._cache: dict[tuple, forging.Presented] = {}
        self._lock = threading.Lock()

    def handle(self, n: int, sock: socket.socket, peer: tuple) -> None:
        upstream = None
        try:
            sock.settimeout(self.timeout)
            dst = original_dst(sock)
            _, msg = read_client_hello(sock, self.timeout, peek=True)
            sni = None
            if msg is not None:
                try:
                    sni = server_name(parse_client_hello(msg))
                except ValueError:
                    pass
            self.log.event(n, "accept", client=f"{peer[0]}:{peer[1]}",
                           original_dst=f"{dst[0]}:{dst[1]}", sni=sni, forge=self.opts["forge"])
            upstream, real = self.connect_upstream(n, dst, sni)
            shown = self.presented(n, real, sni or dst[0])
            client = self.accept_client(n, sock, shown)
            if client is not None:
                self.relay(n, client, upstream)
        except Exception as exc:  # one connection's failure must not stop the proxy
            self.log.event(n, "error", error=f"{type(exc).__name__}: {exc}")
        finally:
            for s in (upstream, sock):
                if s is not None:
                    s.close()

    def connect_upstream(self, n: int, dst: tuple, sni: str | None):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
        seen = Alerts()
        ctx._msg_callback = seen
        raw = socket.create_connection(dst, timeout=self.timeout)
        tls = ctx.wrap_socket(raw, server_hostname=sni)
        chain = seen.certificates or (tls.getpeercert(binary_form=True),)
        self.log.event(n, "upstream", version=version_name(tls.version()), cipher=tls.cipher()[0],
                       real_sha256=hashlib.sha256(chain[0]).hexdigest(), real_chain_len=len(chain),
                       real_subject=_name(chain[0], "subject"))
        return tls, chain

    def presented(self, n: int, real: tuple[bytes, ...], hostname: str) -> forging.Presented:
        key = (real, hostname)
        with self._lock:  # one forgery per real certificate and name, as mitmproxy caches
            if key not in self._cache:
                self._cache[key] = forging.present(self.opts["forge"], real, hostname,
                                                   ca=self.ca, trusted_ca=self.trusted,
                                                   key=self.opts.get("key", "rsa2048"))
            shown = self._cache[key]
        der = shown.leaf.public_bytes(Encoding.DER)
        self.log.event(n, "presented", forged_sha256=hashlib.sha256(der).hexdigest(),
                       forged_subject=shown.leaf.subject.rfc4514_string(),
                       forged_issuer=shown.leaf.issuer.rfc4514_string(),
                       genuine_key=shown.genuine_key)
        return shown

    def accept_client(self, n: int, sock: socket.socket, shown: forging.Presented):
        if not shown.genuine_key:
            return self.accept_client_tlslite(n, sock, shown)
        path = f"{self.opts['certs']}/presented-{n}"
        with open(path + ".pem", "wb") as fh:
            fh.write(shown.chain_pem)
        with open(path + ".key", "wb") as fh:
            fh.write(shown.key_pem)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(path + ".pem", path + ".key")
        if self.opts.get("keylog"):
            ctx.keylog_filename = self.opts["keylog"]
        seen = Alerts()
        ctx._msg_callback = seen
        tls = ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        try:
            tls.do_handshake()
        except (ssl.SSLError, OSError) as exc:
            reason = getattr(exc, "reason", None)
            alert = seen.received or alert_name(reason or "")
            self.log.event(n, "client_handshake", accepted=False, client_alert=alert,
                           proxy_alert=seen.sent, error=f"{type(exc).__name__}: {exc}")
            return None
        self.log.event(n, "client_handshake", accepted=True, version=version_name(tls.version()),
                       cipher=tls.cipher()[0])
        return tls

    def accept_client_tlslite(self, n: int, sock: socket.socket, shown: forging.Presented):
        from tlslite.api import HandshakeSettings, TLSConnection, X509CertChain, parsePEMKey
        from tlslite.errors import TLSLocalAlert, TLSRemoteAlert
        chain = X509CertChain()
        chain.parsePemList(shown.chain_pem.decode())
        conn = TLSConnection(sock)
        settings = HandshakeSettings()
        settings.certificate_compression_send = []  # see lab.tls.agents.tlslite_agent
        try:
            conn.handshakeServer(certChain=chain, settings=settings,
                                 privateKey=parsePEMKey(shown.key_pem.decode(), private=True))
        except TLSRemoteAlert as exc:
            self.log.event(n, "client_handshake", accepted=False,
                           client_alert=ALERTS.get(exc.description), error=str(exc))
            return None
        except (TLSLocalAlert, OSError) as exc:
            sent = ALERTS.get(getattr(exc, "description", None))
            self.log.event(n, "client_handshake", accepted=False, client_alert=None,
                           proxy_alert=sent, error=f"{type(exc).__name__}: {exc}")
            return None
        # Not expected: the client let a key that is not the certificate's through.
        self.log.event(n, "client_handshake", accepted=True, version=conn.getVersionName(),
                       cipher=conn.getCipherName(), note="client accepted a replayed certificate; "
                       "relaying is not implemented for this case")
        conn.close()
        return None

    def relay(self, n: int, client: ssl.SSLSocket, upstream: ssl.SSLSocket) -> None:
        """Both ways until either side closes; every chunk logged before it is forwarded."""
        peers = {client: (upstream, "client->server"), upstream: (client, "server->client")}
        for s in peers:
            s.setblocking(False)
        closed_by, deadline = None, time.monotonic() + 10 * self.timeout
        while closed_by is None and time.monotonic() < deadline:
            ready = [s for s in peers if s.pending()] or \
                select.select(list(peers), [], [], self.timeout)[0]
            if not ready:
                closed_by = "idle timeout"
            for s in ready:
                other, direction = peers[s]
                try:
                    data = s.recv(16384)
                except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                    continue  # e.g. a TLS 1.3 NewSessionTicket: no application data
                except (ssl.SSLError, OSError) as exc:
                    data, closed_by = b"", f"{direction.split('->')[0]} error: {exc}"
                if not data:
                    closed_by = closed_by or f"{direction.split('->')[0]} closed"
                    break
                self.log.data(n, direction, data)
                _send_all(other, data)
        self.log.event(n, "close", closed_by=closed_by or "relay time limit")
        for s in (client, upstream):
            try:
                s.settimeout(1.0)
                s.unwrap()  # close_notify, so the other side sees a clean end
            except (ssl.SSLError, OSError, ValueError):
                pass


def _send_all(sock: ssl.SSLSocket, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            view = view[sock.send(view):]
        except (ssl.SSLWantWriteError, ssl.SSLWantReadError, BlockingIOError):
            select.select([sock], [sock], [], 1.0)


def _name(der: bytes, which: str) -> str:
    from cryptography import x509
    return getattr(x509.load_der_x509_certificate(der), which).rfc4514_string()


def main() -> None:
    run(Proxy)


if __name__ == "__main__":
    main()
