"""Certificate checks for agents whose TLS stack validates nothing itself
(tlslite-ng). Results are (alert, reason) pairs, None when the chain is good;
the alerts are the ones OpenSSL sends for the same failures."""
from __future__ import annotations

import datetime
import ipaddress

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.x509 import verification as v


def verify_chain(ders: list[bytes], anchors: str, name: str | None, server: bool) -> tuple[str, str] | None:
    """(alert, reason) if the peer's chain fails, else None."""
    if not ders:
        return "certificate_required", "peer sent no certificate"
    with open(anchors, "rb") as f:
        trusted = x509.load_pem_x509_certificates(f.read())
    certs = [x509.load_der_x509_certificate(d) for d in ders]
    if server:
        return walk_chain(certs, trusted, datetime.datetime.now(datetime.timezone.utc))
    builder = v.PolicyBuilder().store(v.Store(trusted))
    try:
        subject = v.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        subject = v.DNSName(name)
    try:
        builder.build_server_verifier(subject).verify(certs[0], certs[1:])
    except v.VerificationError as exc:
        text = str(exc)
        if "subjectAltName" in text or "subject" in text and "match" in text:
            return "bad_certificate", text
        if "expired" in text or "not valid at validation time" in text:
            return "certificate_expired", text
        return "unknown_ca", text
    return None


def walk_chain(certs, trusted, now) -> tuple[str, str] | None:
    """Client certificates: signatures, names and validity up to an anchor.
    cryptography's ClientVerifier is not used because it demands a SAN, which
    client certificates often lack (lab.pki issues them without one)."""
    for c in certs:
        if not c.not_valid_before_utc <= now <= c.not_valid_after_utc:
            return "certificate_expired", f"{c.subject.rfc4514_string()} is outside its validity period"
    current, pool = certs[0], certs[1:]
    for _ in range(8):
        for issuer in [a for a in trusted if a.subject == current.issuer] + \
                [p for p in pool if p.subject == current.issuer]:
            try:
                current.verify_directly_issued_by(issuer)
            except (ValueError, TypeError, InvalidSignature):
                continue
            if issuer in trusted:
                return None
            current = issuer
            break
        else:
            return "unknown_ca", f"no trusted issuer for {current.subject.rfc4514_string()}"
    return "unknown_ca", "chain too long"
