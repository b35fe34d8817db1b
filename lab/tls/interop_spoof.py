"""Spoof cells of the interop matrix: every client, verification on, against a
server presenting each lab.pki spoof variant. Pure: cells, verdicts, findings.

A client must reject every spoof. Where a client is known to behave otherwise
the deviation is a documented Finding: the run shows it as a finding instead
of failing, and fails if the finding stops reproducing, so this table cannot
silently go stale in either direction.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from lab.pki.variants import CLIENT_ACCEPTS, VARIANTS as CERT_VARIANTS
from lab.tls import registry
from lab.tls.roles import Outcome
from lab.tls.variants import variant

# Every spoof a correctly configured client must reject (`trusted-ca` needs
# the client's trust store to be tampered with, so it is no spoof here).
SPOOFS: tuple[str, ...] = tuple(n for n in CERT_VARIANTS if n not in CLIENT_ACCEPTS)
# gnutls-serv is the one server that presents all of them: OpenSSL-based
# servers (s_server, CPython) refuse to load the 1024-bit weak-key leaf at
# Debian's security level 2, and s_server sends the leaf without its chain,
# which would turn issuer-not-ca into a plain unknown issuer.
SPOOF_SERVER = "gnutls"
SPOOF_VARIANT = "tls13"

ACCEPTED, REJECTED, INCONCLUSIVE = "accepted", "rejected", "inconclusive"


@dataclass(frozen=True)
class Finding:
    behaviour: str     # ACCEPTED or INCONCLUSIVE: what the client does instead of rejecting
    reason: str


FINDINGS: dict[tuple[str, str], Finding] = {
    ("openssl", "no-san"): Finding(ACCEPTED, "OpenSSL's host check (X509_check_host) falls back "
                                   "to the subject CN when the certificate has no SAN"),
    ("python", "no-san"): Finding(ACCEPTED, "CPython's ssl uses OpenSSL's host check, and "
                                  "hostname_checks_common_name is on by default"),
    ("gnutls", "no-san"): Finding(ACCEPTED, "GnuTLS compares the subject CN when the "
                                  "certificate has no DNS SAN"),
    ("scapy", "no-san"): Finding(ACCEPTED, "scapy's Cert.matchesHostname consults the CN "
                                 "when there is no SAN (RFC 6125 6.4.4)"),
    ("gnutls", "weak-key"): Finding(ACCEPTED, "gnutls-cli's default verification (NORMAL "
                                    "priority) does not reject a 1024-bit RSA key"),
    ("scapy", "weak-key"): Finding(ACCEPTED, "scapy's CertTree checks signatures, dates and "
                                   "the name, never key sizes"),
    ("scapy", "issuer-not-ca"): Finding(ACCEPTED, "scapy's CertTree chains by issuer name and "
                                        "signature only; it never checks basicConstraints CA:TRUE"),
    ("tlslite", "weak-key"): Finding(INCONCLUSIVE, "the server aborts with internal_error "
                                     "('Some constraint limits were reached') before tlslite-ng's "
                                     "after-handshake check can run: of the RSA schemes tlslite-ng "
                                     "prefers RSA-PSS with SHA-512, which gnutls-serv honours and "
                                     "a 1024-bit key cannot produce (EMSA-PSS needs 2 + 64 + 64 bytes)"),
}


@dataclass(frozen=True)
class SpoofCell:
    client: str
    spoof: str
    server: str = SPOOF_SERVER

    @property
    def slug(self) -> str:
        return f"{self.client}-to-{self.server}-spoof-{self.spoof}"


@dataclass
class SpoofResult:
    cell: SpoofCell
    status: str                        # ok | finding | fail | unsupported | error
    verdict: str = ""                  # accepted | rejected | inconclusive
    detail: str = ""
    client: list[Outcome] = field(default_factory=list)
    server: list[Outcome] | None = None


def expand_spoofs(clients: list[str], spoofs: list[str] | None = None) -> list[SpoofCell]:
    """Every client against every spoof, spoof-major; unknown names raise InputError."""
    from lab.pki.variants import variant as cert_variant
    for name in clients:
        registry.get(name)
    spoofs = list(SPOOFS if spoofs is None else spoofs)
    for name in spoofs:
        cert_variant(name)
    return [SpoofCell(c, s) for s in spoofs for c in clients]


def unsupported_spoof(cell: SpoofCell) -> str | None:
    v = variant(SPOOF_VARIANT)
    reasons = [f"{name} {role}: {why}" for name, role in ((cell.client, "client"), (cell.server, "server"))
               if (why := registry.get(name).supports(v, role))]
    return "; ".join(reasons) or None


def verdict(client: list[Outcome]) -> tuple[str, str]:
    """What the client did with the certificate, judged on its own report.
    Rejected means the client refused it (a verification error or an alert it
    sent); anything else that stopped the handshake says nothing about it."""
    if not client:
        return INCONCLUSIVE, "the client reported no connection"
    o = client[0]
    if o.connected:
        return ACCEPTED, f"handshake completed ({o.version}, {o.cipher})"
    if o.error_class in ("verify_failed", "pin_mismatch") or o.alert_sent:
        return REJECTED, f"{o.alert_sent or 'no alert'}: {o.error_class}: {o.error_message}"
    alert = f" (received {o.alert_received})" if o.alert_received else ""
    return INCONCLUSIVE, f"{o.error_class}{alert}: {o.error_message}"


def judge_spoof(cell: SpoofCell, client: list[Outcome]) -> tuple[str, str, str]:
    """(status, verdict, detail). ok = rejected; finding = the documented deviation."""
    seen, how = verdict(client)
    known = FINDINGS.get((cell.client, cell.spoof))
    if known is None:
        if seen == REJECTED:
            return "ok", seen, how
        return "fail", seen, f"{seen.upper()} a {cell.spoof} certificate: {how}"
    if seen == known.behaviour:
        return "finding", seen, known.reason
    return "fail", seen, (f"documented as {known.behaviour} ({known.reason}) but it was {seen}: "
                          f"{how}; update lab.tls.interop_spoof.FINDINGS")
