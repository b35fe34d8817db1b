"""What actually happened, per expectation name: from process outcomes and
from the packet captures, never from the scenario's configuration."""
from __future__ import annotations

import hashlib

from lab.tls.roles import http_response


class Observer:
    def __init__(self, scenario, data: dict, run_dir: str):
        self.scenario = scenario
        self.data = data
        self.run_dir = run_dir

    def connections(self, client: str) -> list[dict]:
        return [c for c in self.data["connections"] if c["client"] == client]

    def value(self, subject: str, name: str):
        if subject == "mitm":
            return self._mitm(name)
        if subject == "captures":
            return max((c["dropped"] for c in self.data["captures"]), default=None)
        conns = self.connections(subject)
        if not conns:
            return None
        outcomes = [c["outcome"] for c in conns]
        last = outcomes[-1]
        if name == "handshake":
            return "complete" if all(o["connected"] for o in outcomes) else "failed"
        if name == "version":
            return last["version"]
        if name == "cipher":
            return last["cipher"]
        if name == "group":
            return last["group"]
        if name == "alert":
            return next((o["alert_received"] or o["alert_sent"] for o in outcomes
                         if o["alert_received"] or o["alert_sent"]), None)
        if name == "error":
            return next((o["error_class"] for o in outcomes if o["error_class"]), None)
        if name == "resumed":
            return last["resumed"]
        if name == "data_integrity":
            return self._integrity(subject, outcomes)
        figures = [c.get("tcp") or {} for c in conns]
        if name == "retransmissions":
            return sum(f.get("retransmissions", 0) for f in figures) if figures else None
        if name == "duplicate_acks":
            return sum(f.get("duplicate_acks", 0) for f in figures) if figures else None
        if name == "round_trips":
            return figures[-1].get("round_trips")
        if name == "handshake_time":
            return figures[-1].get("handshake_time")
        if name == "tcp_handshake":
            return "complete" if all(f.get("tcp_handshake_rtt") for f in figures) else "incomplete"
        if name == "closed_by":
            return figures[-1].get("closed_by")
        if name.startswith("eavesdropper_"):
            return self._eavesdropped(conns, name)
        return None

    def _eavesdropped(self, conns: list[dict], name: str):
        """What a passive mitm's capture showed of these connections."""
        report = self.data.get("mitm")
        if not report:
            return None
        seen = {}
        for entry in _walk_tls(report):
            seen[entry["client"]] = entry
        views = [seen.get(f"{c['client_address']}:{(c.get('tcp') or {}).get('client_port')}")
                 for c in conns]
        if any(v is None for v in views):
            return None  # the mitm never saw this connection
        if name == "eavesdropper_sees_certificate":
            return any(v["certificate_visible"] for v in views)
        return any(v["sni"] for v in views)

    def _mitm(self, name: str):
        from lab.mitm.observe import observed
        from lab.mitm.targets import lab_addresses

        report = self.data.get("mitm")
        if report is None:
            return None
        if name == "mitm_saw_request":
            sent = {c["outcome"]["sent_sha256"] for c in self.data["connections"]
                    if c["outcome"]["bytes_sent"]}
            seen = {(c.get("plaintext_sha256") or {}).get("client->server")
                    for c in report.get("connections") or []}
            return bool(sent & seen)
        addresses = {a: h for a, (h, _) in lab_addresses(self.scenario.topology).items()}
        return observed(name, report, self.data["captures"], addresses)

    def _integrity(self, client: str, outcomes: list[dict]) -> bool:
        """On every connection that carried a request, the client received
        exactly the server's response, by sha256 of the bytes it reported.
        (gnutls-cli --resume, for one, only sends on its last connection.)"""
        server = self.scenario.server(self.scenario.client(client).server)
        wanted = hashlib.sha256(http_response(server.response)).hexdigest()
        carried = [o for o in outcomes if o["bytes_sent"] > 0]
        return bool(carried) and all(o["connected"] and o["received_sha256"] == wanted
                                     for o in carried)


def _walk_tls(report):
    """Every per-connection leak record (lab.mitm.leaks) anywhere in a report."""
    if isinstance(report, dict):
        for key, value in report.items():
            if key == "tls" and isinstance(value, list):
                yield from (v for v in value if isinstance(v, dict) and "client" in v)
            else:
                yield from _walk_tls(value)
    elif isinstance(report, list):
        for value in report:
            yield from _walk_tls(value)
