"""Server certificates by name: the good one and every spoof a client must reject.

Each variant is a pure function Target -> Credential in the VARIANTS registry,
so a scenario (or a MITM) picks one by name. Each differs from `good` in one
property only, so a rejection can only have one cause. Every variant issues
a fresh leaf key; the ones needing an extra CA make a fresh one too.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from types import MappingProxyType
from typing import Callable, Mapping

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from lab.errors import InputError
from lab.pki.issue import LEAF_VALIDITY, Credential, common_name, general_name, identity, leaf, root_ca
from lab.pki.keys import DEFAULT_KEY_SPEC, KeySpec

# RFC 5280 4.1.2.5: a certificate is valid from notBefore through notAfter
# inclusive. A day clear of "now" on either side is far beyond the few minutes
# of clock skew some clients tolerate, so the verdict cannot flip on timing.
OUT_OF_WINDOW = timedelta(days=1)

# RFC 6761 6.4: ".invalid" names are guaranteed never to resolve or be issued,
# so they can never match a real server name.
WRONG_HOST = "wrong-host.invalid"
ROGUE_ISSUER_HOST = "rogue-issuer.invalid"

UNTRUSTED_CA_NAME = "tlslab attacker CA (untrusted)"
TRUSTED_CA_NAME = "tlslab attacker CA (client-trusted)"


@dataclass(frozen=True)
class Target:
    """The server identity a variant imitates or breaks.

    ca: the run's real issuing CA (root or intermediate) that clients trust.
    hostname, sans: the name clients check, and the SANs (default: hostname).
    real: the real server certificate; when given, its subject and SANs are
      copied instead of hostname/sans (mitmproxy's upstream cert sniffing).
    trusted_ca: an attacker CA the client was made to trust (see trusted_ca());
      only the `trusted-ca` variant uses it.
    now: pins the clock, so validity windows are reproducible.
    """

    ca: Credential
    hostname: str
    sans: tuple[str, ...] = ()
    key_spec: KeySpec = DEFAULT_KEY_SPEC
    real: x509.Certificate | None = None
    trusted_ca: Credential | None = None
    now: datetime | None = None

    def __post_init__(self):
        # Fail at construction, not halfway through forging (InputError on bad names).
        for name in (self.hostname, *self.sans):
            general_name(name)


def trusted_ca(key_spec: KeySpec = DEFAULT_KEY_SPEC, *, now: datetime | None = None) -> Credential:
    """A second root CA for the attacker; the scenario adds its cert to the
    client's CA bundle, then passes it as Target.trusted_ca to forge with."""
    return root_ca(TRUSTED_CA_NAME, key_spec, now=now)


# --- the variants --------------------------------------------------------------


def good(t: Target) -> Credential:
    """Valid chain to the run's CA, matching name, in date."""
    return leaf(t.ca, *_identity(t), t.key_spec, now=t.now)


def self_signed(t: Target) -> Credential:
    """The real subject and SANs, signed by the leaf's own key."""
    return leaf(None, *_identity(t), t.key_spec, now=t.now)


def clone_untrusted_ca(t: Target) -> Credential:
    """The real subject and SANs, signed by a fresh attacker CA nobody trusts."""
    attacker = root_ca(UNTRUSTED_CA_NAME, t.key_spec, now=t.now)
    return leaf(attacker, *_identity(t), t.key_spec, now=t.now)


def clone_trusted_ca(t: Target) -> Credential:
    """The real subject and SANs, signed by the attacker CA the client trusts:
    the MITM that succeeds when a client's trust store is compromised."""
    if t.trusted_ca is None:
        raise InputError(
            "variant 'trusted-ca' needs an attacker CA the client trusts "
            "(make one with trusted_ca() and add it to the client's CA bundle)"
        )
    return leaf(t.trusted_ca, *_identity(t), t.key_spec, now=t.now)


def wrong_host(t: Target) -> Credential:
    """Valid chain, but issued for another name."""
    return leaf(t.ca, common_name(WRONG_HOST), [general_name(WRONG_HOST)], t.key_spec, now=t.now)


def expired(t: Target) -> Credential:
    """notAfter a day in the past."""
    not_after = _now(t) - OUT_OF_WINDOW
    return leaf(t.ca, *_identity(t), t.key_spec, not_before=not_after - LEAF_VALIDITY, not_after=not_after)


def not_yet_valid(t: Target) -> Credential:
    """notBefore a day in the future."""
    not_before = _now(t) + OUT_OF_WINDOW
    return leaf(t.ca, *_identity(t), t.key_spec, not_before=not_before, not_after=not_before + LEAF_VALIDITY)


def bad_signature(t: Target) -> Credential:
    """A good certificate with one signature bit flipped; it still parses."""
    cred = good(t)
    der = bytearray(cred.cert.public_bytes(serialization.Encoding.DER))
    # The signature BIT STRING is the last field of the DER (RFC 5280 4.1.1.3),
    # so the last byte is signature: for RSA a byte of the raw value, for ECDSA
    # the low byte of the INTEGER s. Neither change affects the DER structure.
    der[-1] ^= 0x01
    forged = x509.load_der_x509_certificate(bytes(der))
    return Credential(forged, cred.key, cred.chain, cred.anchor)


def issuer_not_ca(t: Target) -> Credential:
    """Signed by a valid leaf (CA:FALSE) of the run's CA, which is sent as the
    intermediate: the old basicConstraints-not-checked attack. Being a real
    leaf, the rogue issuer also lacks keyCertSign, and under an intermediate
    with pathLen 0 the chain is one too long; verifiers report the CA flag first."""
    rogue = leaf(t.ca, common_name(ROGUE_ISSUER_HOST), [general_name(ROGUE_ISSUER_HOST)], t.key_spec, now=t.now)
    return leaf(rogue, *_identity(t), t.key_spec, now=t.now)


def weak_key(t: Target) -> Credential:
    """Valid in every way except an RSA 1024 key (below security level 2)."""
    return leaf(t.ca, *_identity(t), KeySpec.RSA1024, now=t.now)


def no_san(t: Target) -> Credential:
    """The name in the subject CN only, no SAN extension. Clients that still
    fall back to the CN (OpenSSL's default, Python's ssl) accept it; clients
    that follow RFC 6125 6.4.4 / CA/B rules (Go, browsers) reject it."""
    subject, _ = _identity(t)
    return leaf(t.ca, subject, None, t.key_spec, now=t.now)


VariantFn = Callable[[Target], Credential]

VARIANTS: Mapping[str, VariantFn] = MappingProxyType({
    "good": good,
    "self-signed": self_signed,
    "clone-untrusted-ca": clone_untrusted_ca,
    "trusted-ca": clone_trusted_ca,
    "wrong-host": wrong_host,
    "expired": expired,
    "not-yet-valid": not_yet_valid,
    "bad-signature": bad_signature,
    "issuer-not-ca": issuer_not_ca,
    "weak-key": weak_key,
    "no-san": no_san,
})

# Variants a correctly configured client accepts; it must reject all others.
# (`trusted-ca` is accepted because the client was made to trust the attacker.)
CLIENT_ACCEPTS = frozenset({"good", "trusted-ca"})


def variant(name: str) -> VariantFn:
    """The variant registered under `name`; unknown names list the known ones."""
    try:
        return VARIANTS[name]
    except KeyError:
        raise InputError(f"unknown certificate variant {name!r} (known: {', '.join(VARIANTS)})") from None


def forge(name: str, target: Target) -> Credential:
    return variant(name)(target)


# --- internals ---------------------------------------------------------------


def _now(t: Target) -> datetime:
    return t.now or datetime.now(timezone.utc)


def _identity(t: Target) -> tuple[x509.Name, list[x509.GeneralName] | None]:
    """Subject and SANs to imitate: the real cert's if given, else from the hostname."""
    if t.real is not None:
        return identity(t.real)
    return common_name(t.hostname), [general_name(s) for s in (t.sans or (t.hostname,))]
