"""Scenario expectations about an attack, from a run's artifacts: the
handle's report (which reads the proxy log) and the hosts' captures.

    observed("arp_poisoned", report, captures, addresses)
    observed("mitm_certificate_presented", report, captures, addresses, keylog)
    observed("mitm_saw_plaintext", report, captures, addresses)

captures: lab.net.capture.CaptureStats, or their dicts as in result.json.
addresses: every lab address -> host (lab.mitm.targets.lab_addresses gives
address -> (host, interface)). None means the attack has nothing to say.
"""
from __future__ import annotations

from lab.errors import InputError
from lab.mitm.eventlog import saw_plaintext
from lab.mitm.evidence import arp_poisoning, certificate_presented, client_tls_view, read_arp

# name -> help, for an `expect: {mitm: {...}}` section (all take true or false)
EXPECTATIONS = {
    "arp_poisoned": "the victims' captures hold the poisoning frames and their ARP "
                    "caches showed the mitm's MAC",
    "mitm_certificate_presented": "a client's capture shows it received the proxy's forged leaf",
    "mitm_saw_plaintext": "the mitm read application data in the clear",
}


def observed(name: str, report: dict, captures, addresses: dict[str, str],
             keylog: str | None = None) -> bool | None:
    if name == "mitm_saw_plaintext":
        if report["mode"] == "intercept":
            return saw_plaintext(report["connections"])
        if report["mode"] == "downgrade":
            return False  # it relays ciphertext and never holds a key
        return report.get("plaintext_seen")  # passive, in-path; None for arp-spoof
    if name == "arp_poisoned":
        return arp_poisoned(_arp_section(report), captures)
    if name == "mitm_certificate_presented":
        return certificate_seen(report, captures, addresses, keylog)
    raise InputError(f"unknown mitm expectation {name!r}; known: {', '.join(EXPECTATIONS)}")


def _arp_section(report: dict) -> dict | None:
    return report if report["mode"] == "arp-spoof" else report.get("arp")


def arp_poisoned(arp: dict | None, captures) -> bool | None:
    """True when every victim's capture holds frames poisoning it about every
    other victim and its `ip neigh` showed the mitm's MAC while the attack ran."""
    if arp is None:
        return None
    truth = {v["address"]: v["mac"] for v in arp["victims"]}
    mitm_macs = set(arp["mitm_macs"].values())
    for v in arp["victims"]:
        paths = [_get(c, "path") for c in captures if _get(c, "host") == v["host"]]
        frames = [f for p in paths for f in read_arp(p)]
        told = {(g["claimed_ip"], g["told_ip"]) for g in arp_poisoning(frames, mitm_macs, truth)}
        if not all((o, v["address"]) in told for o in truth if o != v["address"]):
            return False
    return bool(arp["arp_poisoned"])


def certificate_seen(report: dict, captures, addresses: dict[str, str],
                     keylog: str | None) -> bool | None:
    """True when a client's capture shows it received a leaf the proxy forged.
    TLS 1.3 encrypts it: the client's key log decrypts it, and so does the
    proxy's own (it holds the client-side secrets), used when none is given."""
    conns = report.get("connections") or []
    if report["mode"] != "intercept" or not conns:
        return None
    keylog = keylog or report.get("proxy_keylog")
    port = report["config"]["port"]
    clients = {c["client"].rsplit(":", 1)[0] for c in conns}
    for address in sorted(clients):
        host = addresses.get(address)
        for path in (_get(c, "path") for c in captures if _get(c, "host") == host):
            if any(certificate_presented(v, conns) for v in client_tls_view(path, keylog, port)):
                return True
    return False


def _get(capture, field: str):
    return capture[field] if isinstance(capture, dict) else getattr(capture, field)
