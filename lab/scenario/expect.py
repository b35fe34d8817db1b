"""Expectations: parsed from YAML, checked against observations.

Observed values always come from process outcomes and packet captures,
never from the scenario's configuration.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from lab.config.yamlsrc import Reader
from lab.scenario.model import Expectation, Range

CLIENT_EXPECTATIONS = {
    # name: (parser, help)
    "handshake": "complete or failed",
    "version": "1.2 or 1.3",
    "cipher": "an IANA cipher suite name, or a list",
    "group": "an IANA group name, or a list",
    "alert": "an alert name (unknown_ca, bad_certificate, ...), or a list of allowed ones",
    "error": "an error class (verify_failed, alert_received, ...), or a list",
    "resumed": "true or false (the last connection)",
    "data_integrity": "true: the bytes received equal the bytes sent, by sha256",
    "retransmissions": "a count or range, like 0 or 1..3 (from the capture)",
    "duplicate_acks": "a count or range (from the capture)",
    "round_trips": "a count or range: round trips before the first application byte",
    "handshake_time": "a duration range, like 100ms..300ms (SYN to handshake complete)",
    "tcp_handshake": "complete: SYN, SYN-ACK and ACK all seen in the capture",
    "eavesdropper_sees_certificate": "true or false: a passive mitm read the server's "
                                     "certificate (subject, issuer) off the wire",
    "eavesdropper_sees_sni": "true or false: a passive mitm read the server name off the wire",
    "closed_by": "fin or rst: how the capture shows the connection closing",
}
CAPTURE_EXPECTATIONS = {"drops": "kernel drops reported by tcpdump, normally 0"}
MITM_EXPECTATIONS = {
    "arp_poisoned": "true: the victims' captures hold the poisoning replies and their ARP "
                    "caches showed the mitm's MAC",
    "mitm_certificate_presented": "true: a client's capture shows the leaf the proxy forged",
    "mitm_saw_plaintext": "true or false: the mitm read application data in the clear",
    "mitm_saw_request": "true: the mitm's plaintext log holds exactly the bytes a client "
                        "sent (by sha256)",
}


def parse(reader: Reader | None, clients, has_mitm: bool = False) -> tuple[Expectation, ...]:
    from lab.scenario.units import parse_range

    if reader is None:
        return ()
    names = {c.name for c in clients}
    out = []
    for subject, r in reader.mapping("expect").items():
        if subject == "captures":
            allowed = CAPTURE_EXPECTATIONS
        elif subject == "mitm" and has_mitm:
            allowed = MITM_EXPECTATIONS
        elif subject in names:
            allowed = CLIENT_EXPECTATIONS
        else:
            raise r.error(f"expect names '{subject}', which is neither a client of this "
                          f"scenario ({', '.join(sorted(names))}), 'captures', nor 'mitm' "
                          "(with a mitm: section)")
        for name, v in r.mapping(f"expectations of {subject}", set(allowed)).items():
            out.append(Expectation(subject, name, _value(name, v, parse_range), v.where))
    return tuple(out)


def _value(name: str, v: Reader, parse_range) -> Any:
    if name == "handshake":
        text = v.text(name)
        if text not in ("complete", "failed"):
            raise v.error("handshake must be 'complete' or 'failed'")
        return text
    if name in ("tcp_handshake", "closed_by"):
        text = v.text(name)
        allowed = ("complete",) if name == "tcp_handshake" else ("fin", "rst")
        if text not in allowed:
            raise v.error(f"{name} must be {' or '.join(allowed)}")
        return text
    if name in ("resumed", "data_integrity") or name in MITM_EXPECTATIONS \
            or name.startswith("eavesdropper_"):
        return v.boolean(name)
    if name == "version":
        text = v.string(name).removeprefix("TLSv")
        if text not in ("1.0", "1.1", "1.2", "1.3"):
            raise v.error(f"version must be 1.2 or 1.3 (or 1.0, 1.1), not '{text}'")
        return f"TLSv{text}"
    if name in ("cipher", "group", "alert", "error"):
        if v.is_sequence():
            return tuple(x.text(name) for x in v.sequence(name))
        return (v.text(name),)
    if name == "handshake_time":
        return parse_range(v, duration=True)
    return parse_range(v, duration=False)  # counts


@dataclass(frozen=True)
class Checked:
    subject: str
    name: str
    expected: str
    observed: str
    passed: bool

    def to_json(self) -> dict:
        return {"subject": self.subject, "name": self.name, "expected": self.expected,
                "observed": self.observed, "passed": self.passed}


def _show(value: Any) -> str:
    if isinstance(value, tuple):
        return value[0] if len(value) == 1 else "one of " + ", ".join(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def check(expectations, observe: Callable[[str, str], Any]) -> list[Checked]:
    """`observe(subject, name)` returns the observed value (None: not observed)."""
    results = []
    for e in expectations:
        observed = observe(e.subject, e.name)
        if isinstance(e.value, Range):
            ok = observed is not None and observed in e.value
        elif isinstance(e.value, tuple):
            ok = observed in e.value
        else:
            ok = observed == e.value
        shown = "not observed" if observed is None else (
            f"{observed:.3f}s" if e.name == "handshake_time" else _show(observed))
        results.append(Checked(e.subject, e.name, _show(e.value), shown, ok))
    return results
