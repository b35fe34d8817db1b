"""`downgrade`: tamper with the ClientHello (lab.mitm.tamper) to force an
older version or weaker suites; a client that notices aborts.

Per connection the report says what the server then chose, whether its
random carried the RFC 8446 downgrade sentinel, and what the client did:
its alert if it sent one in the clear, and whether any application data
record left it (none means it never finished the handshake).
"""
from __future__ import annotations

from lab.mitm.redirect import Redirecting


def verdict(conn: dict) -> dict:
    """What one tampered connection came to, from its proxy-log summary."""
    client = conn.get("client_records") or {}
    server = conn.get("server_records") or {}
    alerts = [a for a in conn.get("alerts", []) if a.get("side") == "client"]
    app = client.get("application_data", 0)
    tls13 = conn.get("version") == "TLSv1.3"  # then handshake records look like application data
    return {
        "server_version": conn.get("version"),
        "server_cipher": conn.get("cipher"),
        "downgrade_sentinel": conn.get("downgrade_sentinel"),
        "client_alert": alerts[0]["description"] if alerts else None,
        "client_app_data_records": app,
        "server_app_data_records": server.get("application_data", 0),
        "client_aborted": None if tls13 and not alerts else bool(alerts) or app == 0,
    }


class Downgrade(Redirecting):
    mode = "downgrade"
    module = "lab.mitm.tamper"

    def proxy_options(self) -> dict:
        return {**super().proxy_options(), "max_version": self.config.max_version,
                "ciphers": list(self.config.ciphers)}

    def _report(self) -> dict:
        out = super()._report()
        for conn in out["connections"]:
            conn["verdict"] = verdict(conn)
        return out
