"""Issuing certificates: a per-run root CA, intermediates, server and client leaves.

All functions are pure apart from fresh randomness (keys, serials) and the
clock, which callers can pin with `now=`. Each returns a frozen `Credential`.
Every leaf gets its own fresh key; only the CA functions accept a `key=`, so
tests can reuse one CA key per process.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from lab.errors import InputError
from lab.pki.keys import DEFAULT_KEY_SPEC, KeySpec, PrivateKey, generate_key, private_key_pem

# --- Validity (RFC 5280 4.1.2.5: notBefore..notAfter, both inclusive) ---------
# Backdate notBefore so a host whose clock lags the issuer's by a little still
# accepts a certificate issued a moment ago (mitmproxy backdates for the same reason).
CLOCK_SKEW = timedelta(minutes=5)
# A per-run CA only has to outlive its run; a year lets a saved run be replayed.
CA_VALIDITY = timedelta(days=365)
# CA/Browser Forum caps public TLS server certificates at 398 days and some
# clients (Safari) reject longer ones; 90 days stays well inside.
LEAF_VALIDITY = timedelta(days=90)

# Default names. RFC 5280 4.1.2.4: the issuer field must be a non-empty DN.
ROOT_CA_NAME = "tlslab root CA"
INTERMEDIATE_CA_NAME = "tlslab intermediate CA"
# RFC 5280 Appendix A (ub-common-name): a CN holds at most 64 characters.
MAX_COMMON_NAME = 64

SIGNATURE_HASH = hashes.SHA256()

_DNS_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)\Z")


@dataclass(frozen=True)
class Credential:
    """A certificate, its private key, and the chain above it.

    chain: the intermediates a peer must send after `cert`, nearest first; it
    never includes the anchor. anchor: the self-signed certificate at the top
    (the cert itself for a root or a self-signed leaf). The anchor is where the
    chain ends, not a promise that anyone trusts it.
    """

    cert: x509.Certificate
    key: PrivateKey
    chain: tuple[x509.Certificate, ...]
    anchor: x509.Certificate

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def key_pem(self) -> bytes:
        return private_key_pem(self.key)

    @property
    def chain_pem(self) -> bytes:
        """Leaf then intermediates: what a TLS server sends."""
        return pem_bundle((self.cert, *self.chain))

    @property
    def anchor_pem(self) -> bytes:
        return self.anchor.public_bytes(serialization.Encoding.PEM)


def pem_bundle(certs: Sequence[x509.Certificate]) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def general_name(text: str) -> x509.GeneralName:
    """A SAN entry from text: an IP address if it parses as one, else a DNS name
    (A-labels only, an optional leading `*.` wildcard)."""
    try:
        return x509.IPAddress(ipaddress.ip_address(text))
    except ValueError:
        pass
    name = text[2:] if text.startswith("*.") else text
    labels = name.rstrip(".").split(".")
    if len(text) > 253 or not all(_DNS_LABEL.match(label) for label in labels):
        raise InputError(f"{text!r} is not a DNS name or IP address")
    return x509.DNSName(text)


def common_name(text: str) -> x509.Name:
    if not 1 <= len(text) <= MAX_COMMON_NAME:
        raise InputError(
            f"common name {text!r} must be 1 to {MAX_COMMON_NAME} characters (RFC 5280 ub-common-name)"
        )
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])


def root_ca(
    name: str = ROOT_CA_NAME,
    key_spec: KeySpec = DEFAULT_KEY_SPEC,
    *,
    key: PrivateKey | None = None,
    now: datetime | None = None,
) -> Credential:
    """A self-signed root CA."""
    key = key or generate_key(key_spec)
    not_before, not_after = _window(now, CA_VALIDITY)
    cert = _sign(common_name(name), key, None, not_before, not_after, _ca_extensions(key, None))
    return Credential(cert, key, (), cert)


def intermediate_ca(
    issuer: Credential,
    name: str = INTERMEDIATE_CA_NAME,
    key_spec: KeySpec = DEFAULT_KEY_SPEC,
    *,
    key: PrivateKey | None = None,
    path_length: int | None = 0,
    now: datetime | None = None,
) -> Credential:
    """A CA signed by `issuer`. path_length 0 (RFC 5280 4.2.1.9): it may sign
    only leaves, which is all the lab needs and what real issuing CAs do."""
    key = key or generate_key(key_spec)
    not_before, not_after = _window(now, CA_VALIDITY)
    exts = _ca_extensions(key, path_length)
    cert = _sign(common_name(name), key, issuer, not_before, not_after, exts)
    return Credential(cert, key, _chain_below(issuer), issuer.anchor)


def server_cert(
    issuer: Credential,
    hostname: str,
    sans: Sequence[str] = (),
    key_spec: KeySpec = DEFAULT_KEY_SPEC,
    *,
    now: datetime | None = None,
) -> Credential:
    """A TLS server leaf: CN = hostname, SANs = sans (default: the hostname).
    Clients match the SANs (RFC 6125); the CN is there for humans and old clients."""
    names = [general_name(s) for s in (sans or (hostname,))]
    return leaf(issuer, common_name(hostname), names, key_spec, now=now)


def client_cert(
    issuer: Credential,
    name: str,
    key_spec: KeySpec = DEFAULT_KEY_SPEC,
    *,
    now: datetime | None = None,
) -> Credential:
    """A client leaf for mutual TLS (extendedKeyUsage clientAuth, no SANs)."""
    return leaf(issuer, common_name(name), None, key_spec, usage=ExtendedKeyUsageOID.CLIENT_AUTH, now=now)


def clone(
    template: x509.Certificate,
    issuer: Credential | None,
    key_spec: KeySpec = DEFAULT_KEY_SPEC,
    *,
    now: datetime | None = None,
) -> Credential:
    """A new leaf with `template`'s subject and SANs, signed by `issuer`, or
    self-signed if issuer is None: mitmproxy's "upstream cert sniffing"."""
    subject, sans = identity(template)
    return leaf(issuer, subject, sans, key_spec, now=now)


def identity(cert: x509.Certificate) -> tuple[x509.Name, list[x509.GeneralName] | None]:
    """A certificate's subject and SANs (None if it has no SAN extension)."""
    try:
        sans = list(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
    except x509.ExtensionNotFound:
        sans = None
    return cert.subject, sans


def leaf(
    issuer: Credential | None,
    subject: x509.Name,
    sans: Sequence[x509.GeneralName] | None,
    key_spec: KeySpec = DEFAULT_KEY_SPEC,
    *,
    usage: x509.ObjectIdentifier = ExtendedKeyUsageOID.SERVER_AUTH,
    now: datetime | None = None,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
) -> Credential:
    """The general leaf builder the others (and the spoof variants) use.

    issuer None means self-signed. sans None means no SAN extension at all.
    `issuer` need not be a CA: the issuer-not-ca variant relies on that.
    """
    key = generate_key(key_spec)
    default_before, default_after = _window(now, LEAF_VALIDITY)
    exts: list[tuple[x509.ExtensionType, bool]] = [
        # RFC 5280 4.2.1.9: may be non-critical in leaves; critical is stricter and common.
        (x509.BasicConstraints(ca=False, path_length=None), True),
        (_key_usage(key, ca=False), True),
        (x509.ExtendedKeyUsage([usage]), False),
        (x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False),
    ]
    if sans is not None:
        exts.append((x509.SubjectAlternativeName(sans), False))
    cert = _sign(subject, key, issuer, not_before or default_before, not_after or default_after, exts)
    if issuer is None:
        return Credential(cert, key, (), cert)
    return Credential(cert, key, _chain_below(issuer), issuer.anchor)


# --- internals ---------------------------------------------------------------


def _window(now: datetime | None, length: timedelta) -> tuple[datetime, datetime]:
    now = now or datetime.now(timezone.utc)
    return now - CLOCK_SKEW, now + length


def _chain_below(issuer: Credential) -> tuple[x509.Certificate, ...]:
    """What a cert signed by `issuer` sends after itself: the issuer and its
    chain, unless the issuer is the anchor (roots are not sent)."""
    if issuer.cert == issuer.anchor:
        return ()
    return (issuer.cert, *issuer.chain)


def _key_usage(key: PrivateKey, *, ca: bool) -> x509.KeyUsage:
    # RFC 5280 4.2.1.3: CAs need keyCertSign (and cRLSign to sign CRLs).
    # RSA leaves also get keyEncipherment for TLS 1.2 RSA key exchange.
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=not ca and isinstance(key, rsa.RSAPrivateKey),
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _ca_extensions(key: PrivateKey, path_length: int | None):
    # RFC 5280 4.2.1.9: basicConstraints MUST be critical in CA certificates.
    return [
        (x509.BasicConstraints(ca=True, path_length=path_length), True),
        (_key_usage(key, ca=True), True),
        (x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False),
    ]


def _sign(subject, key, issuer, not_before, not_after, extensions) -> x509.Certificate:
    """Certify `key` under `subject`; signed by issuer's key, or by `key` itself if issuer is None."""
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(key.public_key())
        # RFC 5280 4.1.2.2: positive, at most 20 octets; random_serial_number gives 159 bits.
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )
    for ext, critical in extensions:
        builder = builder.add_extension(ext, critical=critical)
    if issuer is not None:
        # RFC 5280 4.2.1.1: authorityKeyIdentifier in all but self-signed certs.
        aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key())
        builder = builder.add_extension(aki, critical=False)
    return builder.sign(issuer.key if issuer else key, SIGNATURE_HASH)
