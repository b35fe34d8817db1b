"""Reading what `openssl s_client -brief -msg` printed, as pure functions.

-brief puts a handshake summary on stderr and leaves stdout to application
data; -msg (to a file) lists every TLS message with a hex dump, which gives
alerts both ways, the server's certificate even when verification fails, the
key-exchange group, and whether the server skipped its Certificate (resumption).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from lab.tls.agents.common import cert_summary
from lab.tls.names import alert_name, cipher_to_iana, group_name, version_name
from lab.tls.roles import Outcome
from lab.tls.toolrun import ToolRun
from lab.tls.wire import first_certificate, server_hello_group, server_key_exchange_group

_MSG_HEAD = re.compile(r"^(>>>|<<<) (?:\S+ [\d.]+|\?+), (\w+) \[length [0-9a-f]+\](?:, (.*))?$")
_HEX = re.compile(r"^ {4}((?:[0-9a-f]{2} ?)+)$")


@dataclass
class Message:
    sent: bool         # '>>>' is us writing, '<<<' the peer
    kind: str          # Handshake, Alert, ChangeCipherSpec, ApplicationData ...
    name: str          # ServerHello, Certificate, 'fatal unknown_ca' ...
    data: bytes


def parse_msg_trace(text: str) -> list[Message]:
    messages: list[Message] = []
    for line in text.splitlines():
        head = _MSG_HEAD.match(line)
        if head:
            direction, kind, name = head.groups()
            if kind in ("RecordHeader", "InnerContent"):
                messages.append(None)  # placeholder: its hex dump is not ours
                continue
            messages.append(Message(direction == ">>>", kind, name or "", b""))
            continue
        hexed = _HEX.match(line)
        if hexed and messages and messages[-1] is not None:
            messages[-1].data += bytes.fromhex(hexed.group(1).replace(" ", ""))
    return [m for m in messages if m is not None]


def apply_msg_trace(out: Outcome, messages: list[Message], tls13: bool) -> None:
    """Alerts, group and peer certificate from a message trace."""
    for m in messages:
        if m.kind == "Alert":
            name = alert_name(m.name.split()[-1]) if m.name else None
            if name and name != "close_notify":
                if m.sent and out.alert_sent is None:
                    out.alert_sent = name
                elif not m.sent and out.alert_received is None:
                    out.alert_received = name
        elif m.kind == "Handshake" and not m.sent and m.data:
            gid = server_hello_group(m.data) or server_key_exchange_group(m.data)
            if gid is not None:
                out.group = group_name(gid)
            if m.name == "Certificate" and out.peer_sha256 is None:
                cert_summary(out, first_certificate(m.data, tls13))


def server_sent_certificate(messages: list[Message]) -> bool:
    return any(not m.sent and m.kind == "Handshake" and m.name == "Certificate" for m in messages)


def _field(text: str, name: str) -> str | None:
    m = re.search(rf"^{re.escape(name)}: (.*)$", text, re.M)
    return m.group(1).strip() if m else None


def _error_reason(text: str) -> str | None:
    """'...:error:0A000086:SSL routines:fn:certificate verify failed:file:line:' -> reason."""
    m = re.search(r":error:[0-9A-F]+:[^:]*:[^:]*:([^:]+):", text)
    return m.group(1) if m else None


def parse_s_client(run: ToolRun, msg_text: str, *, offered_session: bool,
                   index: int = 0) -> Outcome:
    err = run.err().decode(errors="replace")
    out = Outcome(implementation="openssl", role="client", index=index)
    out.connected = "CONNECTION ESTABLISHED" in err
    out.version = version_name(_field(err, "Protocol version"))
    out.cipher = cipher_to_iana(_field(err, "Ciphersuite"))
    messages = parse_msg_trace(msg_text)
    apply_msg_trace(out, messages, tls13=out.version == "TLSv1.3"
                    or any(m.name == "EncryptedExtensions" for m in messages))
    if out.group is None and out.connected:
        temp = _field(err, "Server Temp Key") or ""
        parts = [p.strip() for p in temp.split(",")]
        if parts and parts[0] in ("ECDH", "X25519", "X448"):
            out.group = group_name(parts[1] if parts[0] == "ECDH" else parts[0])
    if out.connected:
        out.resumed = offered_session and not server_sent_certificate(messages)
        out.timings.handshake_done = run.time_of("stderr", b"CONNECTION ESTABLISHED")
    data = run.out()
    if data:
        out.timings.first_app_byte = run.time_at("stdout", 0)
    if data or out.connected:
        out.set_received(data)
    verify = re.search(r"^verify error:num=(\d+):(.*)$", err, re.M)
    reason = _error_reason(err)
    if run.timed_out:
        out.error_class, out.error_message = "timeout", "s_client did not finish in time"
    elif re.search(r"connect:errno=\d+|Connection refused", err):
        out.error_class = "connect_failed"
        out.error_message = (re.search(r"^.*(?:connect:errno=\d+|Connection refused).*$", err, re.M).group(0))
    elif not out.connected:
        if reason == "certificate verify failed":
            out.error_class = "verify_failed"
            out.error_message = f"{reason}: {verify.group(2)}" if verify else reason
        elif out.alert_received:
            out.error_class, out.error_message = "alert_received", reason or out.alert_received
        else:
            out.error_class, out.error_message = "handshake_failed", reason or f"exit status {run.rc}"
    return out
