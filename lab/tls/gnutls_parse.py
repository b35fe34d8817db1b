"""Reading what `gnutls-cli -d 5` printed, as pure functions.

stdout carries the session summary ("- Description: (TLS1.3-X.509)-(ECDHE-
X25519)-(RSA-PSS-RSAE-SHA256)-(AES-256-GCM)") and then, after "- Simple Client
Mode:", the application data. Debug level 5 on stderr is the only place
gnutls-cli shows the alerts it sends ("REC: Sending Alert[2|42]") and the
suite and group it selected. With --resume, one run holds two connections.
"""
from __future__ import annotations

import re

from lab.tls.names import SUITES, alert_name, cipher_to_iana, group_name, suite, version_name
from lab.tls.roles import Outcome
from lab.tls.toolrun import ToolRun

RECONNECT = b"- Connecting again- trying to resume previous session"
DATA_START = b"- Simple Client Mode:\n\n"
# What gnutls-cli appends to the data stream when the peer ends the session.
_TRAILER = re.compile(rb"(?:- Peer has closed the GnuTLS connection|\*\*\* Server has terminated the connection abnormally\.)\n?$")
_SESSION_START = re.compile(r"^\|<5>\| REC\[0x[0-9a-f]+\]: Allocating epoch #0$", re.M)
_FINISHED = re.compile(r"^.*HSK\[0x[0-9a-f]+\]: FINISHED (?:was queued|\(20\) was received).*$", re.M)
_APP_DATA_IN = re.compile(r"^.*Decrypted Packet\[\d+\] Application Data\(23\).*$", re.M)
_MACS = {"SHA1", "SHA256", "SHA384", "MD5"}


def description_parts(desc: str) -> dict:
    """'(TLS1.2-X.509)-(ECDHE-SECP256R1)-(RSA-SHA256)-(AES-128-CBC)-(SHA1)' ->
    version, kx family, group, cipher, mac. Resumed sessions omit the signature."""
    parts = re.findall(r"\(([^)]*)\)", desc)
    info = {"version": version_name(parts[0]) if parts else None, "kx": None, "group": None,
            "sig": None, "cipher": None, "mac": "AEAD"}
    rest = parts[1:]
    if rest and rest[-1] in _MACS:
        info["mac"] = rest.pop()
    if rest:
        info["cipher"] = rest.pop()
    if rest and re.match(r"(RSA|ECDSA|EdDSA|DSA)-", rest[-1]):
        info["sig"] = rest.pop()
    if rest and rest[0]:
        kx = rest[0]
        family, _, group = kx.partition("-")
        info["kx"] = family
        if family in ("ECDHE", "DHE") and group:
            info["group"] = group_name(group)
    return info


def _suite_from_description(info: dict, sig: str | None) -> str | None:
    """None when ambiguous: a resumed TLS 1.2 description omits the signature,
    so ECDHE-RSA and ECDHE-ECDSA cannot be told apart."""
    if info["version"] == "TLSv1.3":
        matches = [s for s in SUITES if s.tls13 and s.cipher == info["cipher"]]
    else:
        kx = info["kx"]
        if kx in ("ECDHE", "DHE") and sig:
            kx = f"{kx}-{'ECDSA' if sig.startswith('ECDSA') else 'RSA'}"
        matches = [s for s in SUITES if s.kx and s.kx.startswith(kx or "?") and s.cipher == info["cipher"]
                   and s.mac == info["mac"]]
    return matches[0].iana if len(matches) == 1 else None


def description_suite(desc: str) -> str | None:
    info = description_parts(desc)
    return _suite_from_description(info, info["sig"]) if info["cipher"] else None


def split_connections(run: ToolRun) -> list[tuple[bytes, int, str, int]]:
    """(stdout part, its offset, stderr part, its offset) per connection in one run.
    On stderr each TLS session starts with "Allocating epoch #0"."""
    out, err = run.out(), run.err().decode("latin-1")
    cut = out.find(RECONNECT)
    outs = [(out, 0)] if cut < 0 else [(out[:cut], 0), (out[cut:], cut)]
    starts = [m.start() for m in _SESSION_START.finditer(err)]
    if len(starts) != len(outs):
        starts = [0] * len(outs)
    starts[0] = 0
    ends = starts[1:] + [len(err)]
    return [(o, off, err[a:b] if b > a else err, a) for (o, off), a, b in zip(outs, starts, ends)]


def parse_connection(run: ToolRun, out: bytes, offset: int, err: str, err_offset: int,
                     index: int) -> Outcome:
    o = Outcome(implementation="gnutls", role="client", index=index)
    text = out.decode(errors="replace")
    done = re.search(r"^- (?:Resume )?Handshake was completed", text, re.M)
    o.connected = bool(done)
    desc = re.search(r"^- Description: (.*)$", text, re.M)
    info = description_parts(desc.group(1)) if desc else {}
    o.version = info.get("version")
    o.group = info.get("group")
    selected = re.search(r"Selected cipher suite: GNUTLS_(\w+)", err)
    if not o.connected:
        pass  # report only what a completed handshake agreed on
    elif selected and suite("TLS_" + selected.group(1)):
        o.cipher = cipher_to_iana("TLS_" + selected.group(1))
    elif desc and info.get("cipher"):
        o.cipher = description_suite(desc.group(1))
    group = re.search(r"Selected group (\w+)", err)
    if o.group is None and group and o.connected:
        o.group = group_name(group.group(1))
    o.resumed = ("*** This is a resumed session" in text) if o.connected else None
    if o.resumed and o.version == "TLSv1.2":
        o.group = None  # an abbreviated handshake exchanges no keys; GnuTLS shows the old session's
    for m in re.finditer(r"Sending Alert\[\d\|(\d+)\]", err):
        if m.group(1) != "0":
            o.alert_sent = o.alert_sent or alert_name(int(m.group(1)))
    for m in re.finditer(r"Alert\[\d\|(\d+)\] - [^\n]* - was received", err):
        if m.group(1) != "0":
            o.alert_received = o.alert_received or alert_name(int(m.group(1)))
    # Timings from stderr, which is unbuffered; stdout reaches the pipe in bursts.
    # A later connection of a --resume run counts from its own session start.
    t0 = run.time_at("stderr", err_offset) if index and err_offset else 0.0
    finished = list(_FINISHED.finditer(err))
    if done and finished:
        o.timings.handshake_done = _since(run, err_offset + finished[-1].start(), t0)
    start = out.find(DATA_START)
    if start >= 0:
        data = _TRAILER.sub(b"", out[start + len(DATA_START):])
        first = _APP_DATA_IN.search(err)
        if data and first:
            o.timings.first_app_byte = _since(run, err_offset + first.start(), t0)
        o.set_received(data)
    status = re.search(r"^- Status: (.*?)\s*$", text, re.M)
    fatal = re.search(r"^\*\*\* (?:Fatal error|handshake has failed): (.*)$", text + "\n" + err, re.M)
    if run.timed_out and not o.connected:
        o.error_class, o.error_message = "timeout", "gnutls-cli did not finish in time"
    elif re.search(r"Cannot connect to|Connection refused", text + err):
        o.error_class = "connect_failed"
        o.error_message = re.search(r"^.*(?:Cannot connect to|Connection refused).*$", text + "\n" + err, re.M).group(0)
    elif not o.connected:
        if status and "NOT trusted" in status.group(1) or "PKI verification" in text:
            o.error_class = "verify_failed"
            o.error_message = status.group(1) if status else "PKI verification of server certificate failed"
        elif o.alert_received:
            o.error_class = "alert_received"
            o.error_message = fatal.group(1) if fatal else o.alert_received
        else:
            o.error_class = "handshake_failed"
            o.error_message = fatal.group(1) if fatal else f"exit status {run.rc}"
    return o


def _since(run: ToolRun, err_pos: int, t0: float) -> float | None:
    t = run.time_at("stderr", err_pos)
    return None if t is None else round(t - t0, 6)


def parse_gnutls_cli(run: ToolRun, first_index: int = 0) -> list[Outcome]:
    found = [parse_connection(run, out, off, err, err_off, first_index + i)
             for i, (out, off, err, err_off) in enumerate(split_connections(run))]
    for prev, o in zip(found, found[1:]):
        if o.resumed and o.cipher is None:
            o.cipher = prev.cipher  # resumption keeps the suite (RFC 5246 7.4.1.3)
    return found
