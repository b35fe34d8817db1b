"""TLS client on scapy's TLS client automaton (scapy.layers.tls.automaton_cli).

The automaton reports through `vprint` lines only, so a subclass catches those:
"Received: b'...'" carries application data, the session summary marks the end
of the handshake, and named failure messages mark failures. It waits for the
server in 0.3 s polls ("wait" commands) until the server closes. tcp_connect
is not observed; pinning is checked after the exchange. scapy verifies chains
and host names itself (CertTree) and then sends certificate_unknown.
"""
from __future__ import annotations

import ast
import math
import os
import shutil
import sys
import tempfile

from scapy.layers.tls.automaton_cli import TLSClientAutomaton

from lab.tls.agents.common import Clock, cert_summary, decode_args, emit, log, spki_pin
from lab.tls.names import cipher_to_iana, group_name, suite
from lab.tls.roles import ClientSpec, Outcome

NAME = "scapy"
VERSION = {"1.2": "tls12", "1.3": "tls13"}
POLL = 0.3  # WAITING_SERVERDATA's own receive timeout


class RecordingClient(TLSClientAutomaton):
    def __init__(self, *args, clock: Clock, out: Outcome, **kwargs):
        self.clock, self.out, self.received, self.messages = clock, out, b"", []
        super().__init__(*args, **kwargs)

    def vprint(self, s=""):
        text = str(s)
        if text.startswith("Received: b"):
            if not self.received:
                self.out.timings.first_app_byte = self.clock.since()
            self.received += ast.literal_eval(text[len("Received: "):])
        elif text:
            self.messages.append(text)
            log(f"scapy> {text}")

    def vprint_sessioninfo(self):
        self.out.timings.handshake_done = self.clock.since()


def tls12_client_hello(spec: ClientSpec, cipher: int | None):
    """The automaton's own TLS 1.2 ClientHello has no supported_groups or
    ec_point_formats extension, so OpenSSL 3.0 finds no shared ECDHE suite."""
    from scapy.layers.tls.extensions import (TLS_Ext_ServerName, ServerName,
                                             TLS_Ext_SignatureAlgorithms, TLS_Ext_SupportedGroups,
                                             TLS_Ext_SupportedPointFormat)
    from scapy.layers.tls.handshake import TLSClientHello
    ext = [TLS_Ext_SignatureAlgorithms(sig_algs=["sha256+rsaepss", "sha256+rsa", "sha256+ecdsa"]),
           TLS_Ext_SupportedGroups(groups=list(spec.groups) or ["x25519", "secp256r1", "secp384r1"]),
           TLS_Ext_SupportedPointFormat(ecpl=["uncompressed"])]
    if spec.sni:
        ext.append(TLS_Ext_ServerName(servernames=[ServerName(servername=spec.sni.encode())]))
    return TLSClientHello(ciphers=cipher, ext=ext)


def keylog_lines(s) -> list[str]:
    random = bytes(s.client_random).hex()
    if s.tls_version >= 0x0304:
        d = s.tls13_derived_secrets
        pairs = [("CLIENT_HANDSHAKE_TRAFFIC_SECRET", d.get("client_handshake_traffic_secret")),
                 ("SERVER_HANDSHAKE_TRAFFIC_SECRET", d.get("server_handshake_traffic_secret")),
                 ("CLIENT_TRAFFIC_SECRET_0", (d.get("client_traffic_secrets") or [None])[0]),
                 ("SERVER_TRAFFIC_SECRET_0", (d.get("server_traffic_secrets") or [None])[0]),
                 ("EXPORTER_SECRET", d.get("exporter_secret"))]
        return [f"{n} {random} {bytes(v).hex()}" for n, v in pairs if v]
    return [f"CLIENT_RANDOM {random} {bytes(s.master_secret).hex()}"]


def client_once(spec: ClientSpec, index: int, timeout: float, extra: dict, offered: bool):
    out = Outcome(implementation=NAME, role="client", index=index)
    clock = Clock()
    kwargs = dict(server=spec.address, dport=spec.port, server_name=spec.sni,
                  version=VERSION[spec.max_version],
                  data=[spec.data] + ["wait"] * math.ceil(timeout / POLL) + ["quit"])
    if spec.verify:
        kwargs.update(cafile=spec.ca, verify_server=True)
    if spec.ciphers:
        kwargs["ciphersuite"] = suite(spec.ciphers[0]).code
    if spec.max_version == "1.2":
        kwargs["client_hello"] = tls12_client_hello(spec, kwargs.get("ciphersuite"))
    else:
        # Without this the automaton offers psk_ke only: OpenSSL 3.0 and GnuTLS
        # answer a resumption attempt with missing_extension.
        kwargs["psk_mode"] = "psk_dhe_ke"
    if spec.groups:
        kwargs.update(curve=spec.groups[0], supported_groups=list(spec.groups))
    if spec.cert:
        kwargs.update(mycert=spec.cert, mykey=spec.key)
    kwargs.update(extra)
    a = RecordingClient(clock=clock, out=out, verbose=True, **kwargs)
    try:
        a.run(wait=True)
    except Exception as exc:  # the automaton raises on socket errors
        out.error_class, out.error_message = "handshake_failed", f"{type(exc).__name__}: {exc}"
    s = a.cur_session
    if out.timings.handshake_done is not None:
        out.connected = True
        out.version = {0x0303: "TLSv1.2", 0x0304: "TLSv1.3"}.get(s.tls_version)
        out.cipher = cipher_to_iana(s.wcs.ciphersuite.name)
        out.group = group_name(s.kx_group) if s.kx_group else None
        out.resumed = offered and not s.server_certs  # a PSK handshake sends no Certificate
        if spec.keylog:
            with open(spec.keylog, "a") as f:
                f.write("".join(line + "\n" for line in keylog_lines(s)))
        out.set_sent(spec.data)
        out.set_received(a.received)
    if s.server_certs:
        der = bytes(s.server_certs[0].der)
        cert_summary(out, der)
        if out.connected and spec.pin and spki_pin(der) != spec.pin:
            out.connected, out.error_class = False, "pin_mismatch"
            out.error_message = "server public key does not match the pin (checked after the exchange)"
    if "Server certificate verification failed!" in a.messages:
        out.error_class, out.alert_sent = "verify_failed", "certificate_unknown"
        out.error_message = "scapy CertTree verification failed"
    elif not out.connected and out.error_class is None:
        out.error_class = "handshake_failed"
        out.error_message = next((m for m in a.messages if "Missing" in m or "failed" in m),
                                 "; ".join(a.messages[-3:]))
    secret = None
    if out.connected and s.tls_version >= 0x0304 and "resumption_secret" in s.tls13_derived_secrets:
        secret = bytes(s.tls13_derived_secrets["resumption_secret"]).hex()
    return out, secret


def main(argv: list[str]) -> int:
    _, spec, timeout = decode_args(argv[1])
    tickets = tempfile.mkdtemp(prefix="tlslab-scapy-")
    prev = None  # (ticket file, resumption master secret) of the last connection
    for index in range(spec.count):
        extra, offered = {}, False
        if spec.resume:
            extra["session_ticket_file_out"] = os.path.join(tickets, f"ticket{index}")
            if prev:
                extra.update(session_ticket_file_in=prev[0], resumption_master_secret=prev[1])
                offered = True
        out, secret = client_once(spec, index, timeout, extra, offered)
        ticket = extra.get("session_ticket_file_out")
        if secret and ticket and os.path.exists(ticket):
            prev = (ticket, secret)
        emit(out)
    shutil.rmtree(tickets, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
