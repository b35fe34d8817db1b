"""lab.pki.variants: each variant has the flaw it claims, and only that flaw.

Checked twice: with `cryptography` (fields and raw signatures) and with
`openssl verify` as an independent oracle, asserting on the first error it
reports. Where possible the oracle is rerun with the one check relaxed, which
must then pass: that shows the variant has no second flaw.
"""
from __future__ import annotations

import re
import ssl
from datetime import datetime, timedelta, timezone

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import NameOID

from lab.errors import InputError
from lab.pki import CLIENT_ACCEPTS, VARIANTS, Credential, KeySpec, Target, forge, variant, write_credential
from lab.pki.variants import OUT_OF_WINDOW, UNTRUSTED_CA_NAME, WRONG_HOST, trusted_ca

from pki_support import HOST, issuing_ca, openssl_verify, signed_by, verify_chain

SANS = (HOST, "www.server.lab")
NOW = datetime.now(timezone.utc).replace(microsecond=0)


@pytest.fixture(
    params=[(KeySpec.RSA2048, True), (KeySpec.ECDSA_P256, False)],
    ids=["rsa-intermediate", "ecdsa-root"],
)
def pki(request):
    """(root, target): the run's root and a Target issued under it."""
    spec, with_intermediate = request.param
    root, ca = issuing_ca(spec, with_intermediate)
    return root, Target(ca=ca, hostname=HOST, sans=SANS, key_spec=spec, now=NOW)


def sans_of(cert: x509.Certificate) -> list[str] | None:
    try:
        return [g.value for g in cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value]
    except x509.ExtensionNotFound:
        return None


def cn_of(cert: x509.Certificate) -> str:
    return cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value


def spki(cert: x509.Certificate) -> bytes:
    return cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


# --- openssl verify as the oracle ------------------------------------------------

# variant -> (first error `openssl verify` reports, how to relax that one check
# so the same certificate passes; None where no relaxation exists).
ORACLE = {
    "self-signed": ("self-signed certificate", {"trust_anchor": True}),
    "clone-untrusted-ca": ("unable to get local issuer certificate", {"trust_anchor": True}),
    "wrong-host": ("hostname mismatch", {"hostname": WRONG_HOST}),
    "expired": ("certificate has expired", {"args": ("-no_check_time",)}),
    "not-yet-valid": ("certificate is not yet valid", {"args": ("-no_check_time",)}),
    "bad-signature": ("certificate signature failure", None),
    "issuer-not-ca": ("invalid CA certificate", None),
    "weak-key": ("EE certificate key too weak", {"auth_level": "1"}),
}
STRICT = "2"  # -auth_level 2: keys of at least 112 bits of security (RSA 2048, P-256)


def first_error(output: str) -> str | None:
    match = re.search(r"^error \d+ at \d+ depth lookup: (.+)$", output, re.M)
    return match.group(1) if match else None


def test_registry_names():
    assert set(VARIANTS) == {
        "good", "self-signed", "clone-untrusted-ca", "trusted-ca", "wrong-host", "expired",
        "not-yet-valid", "bad-signature", "issuer-not-ca", "weak-key", "no-san",
    }
    # Every variant a client must reject has an oracle entry (no-san: see below).
    assert set(VARIANTS) - CLIENT_ACCEPTS - {"no-san"} == set(ORACLE)


def test_target_rejects_bad_names():
    _, ca = issuing_ca(KeySpec.ECDSA_P256, False)
    with pytest.raises(InputError, match="not a DNS name"):
        Target(ca=ca, hostname="bad host")
    with pytest.raises(InputError, match="not a DNS name"):
        Target(ca=ca, hostname=HOST, sans=(HOST, "under_score.lab"))


def test_unknown_variant_lists_known_ones():
    with pytest.raises(InputError) as err:
        variant("typo")
    assert "unknown certificate variant 'typo'" in str(err.value)
    assert all(name in str(err.value) for name in VARIANTS)


@pytest.mark.parametrize("name", sorted(ORACLE))
def test_openssl_rejects_variant_for_its_reason_only(tmp_path, pki, name):
    root, target = pki
    cred = forge(name, target)
    error, relax = ORACLE[name]

    code, out = openssl_verify(tmp_path, cred, [root.cert], "-auth_level", STRICT)
    assert code != 0
    assert first_error(out) == error, out

    if relax is not None:
        trust = [cred.anchor] if relax.get("trust_anchor") else [root.cert]
        args = ("-auth_level", relax.get("auth_level", STRICT), *relax.get("args", ()))
        code, out = openssl_verify(tmp_path, cred, trust, *args, hostname=relax.get("hostname", HOST))
        assert code == 0, out


def test_openssl_accepts_good(tmp_path, pki):
    root, target = pki
    code, out = openssl_verify(tmp_path, forge("good", target), [root.cert], "-auth_level", STRICT, "-x509_strict")
    assert code == 0, out


def test_openssl_trusted_ca_depends_on_the_client_bundle(tmp_path, pki):
    root, target = pki
    attacker = trusted_ca(target.key_spec)
    cred = forge("trusted-ca", Target(ca=target.ca, hostname=HOST, key_spec=target.key_spec, trusted_ca=attacker))
    code, out = openssl_verify(tmp_path, cred, [root.cert, attacker.cert], "-auth_level", STRICT)
    assert code == 0, out
    code, out = openssl_verify(tmp_path, cred, [root.cert], "-auth_level", STRICT)
    assert first_error(out) == "unable to get local issuer certificate"


def test_no_san_depends_on_common_name_fallback(tmp_path, pki):
    """OpenSSL's hostname check falls back to the CN when there are no DNS
    SANs, so `openssl verify` and Python's ssl by default accept `no-san`;
    a client that disables the fallback (like Go or browsers) rejects it."""
    root, target = pki
    cred = forge("no-san", target)
    code, out = openssl_verify(tmp_path, cred, [root.cert], "-auth_level", STRICT)
    assert code == 0, out
    assert handshake(tmp_path, cred, root, checks_common_name=True) is None
    assert handshake(tmp_path, cred, root, checks_common_name=False).startswith("Hostname mismatch")
    # Control: the good certificate passes the strict client.
    assert handshake(tmp_path, forge("good", target), root, checks_common_name=False) is None


def handshake(tmp_path, server: Credential, root: Credential, *, checks_common_name: bool) -> str | None:
    """A TLS handshake in memory between Python ssl objects; returns the
    client's verification error, or None if it accepted the server."""
    paths = write_credential(tmp_path, "server", server, trust=[root.cert])
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(paths.chain, paths.key)
    client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client_ctx.load_verify_locations(paths.ca_bundle)
    client_ctx.hostname_checks_common_name = checks_common_name
    c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
    client = client_ctx.wrap_bio(c_in, c_out, server_hostname=HOST)
    srv = server_ctx.wrap_bio(s_in, s_out, server_side=True)
    for _ in range(10):
        try:
            client.do_handshake()
            return None
        except ssl.SSLWantReadError:
            pass
        except ssl.SSLCertVerificationError as e:
            return e.verify_message
        s_in.write(c_out.read())
        try:
            srv.do_handshake()
        except ssl.SSLWantReadError:
            pass
        c_in.write(s_out.read())
    raise AssertionError("handshake did not finish")


# --- the same properties, checked with cryptography ----------------------------------


def test_good(pki):
    root, target = pki
    cred = forge("good", target)
    verify_chain(cred)
    assert cred.anchor == root.cert
    assert cn_of(cred.cert) == HOST and sans_of(cred.cert) == list(SANS)
    assert cred.cert.not_valid_before_utc <= NOW <= cred.cert.not_valid_after_utc


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_every_variant_has_a_fresh_key_matching_its_cert(name):
    # ECDSA only: the property does not depend on the key type, and it is fast.
    _, ca = issuing_ca(KeySpec.ECDSA_P256, True)
    target = Target(ca=ca, hostname=HOST, key_spec=KeySpec.ECDSA_P256, trusted_ca=trusted_ca(KeySpec.ECDSA_P256))
    a, b = forge(name, target), forge(name, target)
    assert spki(a.cert) == a.key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    assert len({spki(a.cert), spki(b.cert), spki(target.ca.cert)}) == 3


def test_self_signed_copies_the_real_identity(pki):
    root, target = pki
    real = forge("good", target).cert
    cred = forge("self-signed", Target(ca=target.ca, hostname="ignored.lab", real=real, key_spec=target.key_spec))
    assert cred.cert.subject == cred.cert.issuer == real.subject
    assert sans_of(cred.cert) == sans_of(real)
    assert signed_by(cred.cert, cred.cert) and not signed_by(cred.cert, target.ca.cert)
    assert cred.anchor == cred.cert and cred.chain == ()


def test_clone_untrusted_ca_copies_the_real_identity(pki):
    root, target = pki
    real = forge("good", target).cert
    cred = forge("clone-untrusted-ca", Target(ca=target.ca, hostname="ignored.lab", real=real))
    assert cred.cert.subject == real.subject and sans_of(cred.cert) == sans_of(real)
    assert cn_of(cred.anchor) == UNTRUSTED_CA_NAME
    assert cred.anchor.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    verify_chain(cred)  # valid under the attacker's own CA...
    assert not signed_by(cred.cert, target.ca.cert)  # ...not under the run's


def test_trusted_ca(pki):
    _, target = pki
    attacker = trusted_ca(KeySpec.ECDSA_P256)
    real = forge("good", target).cert
    cred = forge("trusted-ca", Target(ca=target.ca, hostname=HOST, real=real, trusted_ca=attacker))
    assert cred.anchor == attacker.cert and signed_by(cred.cert, attacker.cert)
    assert sans_of(cred.cert) == sans_of(real)
    with pytest.raises(InputError, match="trusted_ca"):
        forge("trusted-ca", target)


def test_wrong_host(pki):
    _, target = pki
    cred = forge("wrong-host", target)
    verify_chain(cred)
    assert sans_of(cred.cert) == [WRONG_HOST] and cn_of(cred.cert) == WRONG_HOST


def test_expired_and_not_yet_valid(pki):
    _, target = pki
    old, future = forge("expired", target), forge("not-yet-valid", target)
    verify_chain(old)
    verify_chain(future)
    assert old.cert.not_valid_after_utc == NOW - OUT_OF_WINDOW
    assert future.cert.not_valid_before_utc == NOW + OUT_OF_WINDOW
    assert old.cert.not_valid_before_utc < old.cert.not_valid_after_utc
    assert future.cert.not_valid_before_utc < future.cert.not_valid_after_utc


def test_bad_signature_parses_but_does_not_verify(pki):
    _, target = pki
    cred = forge("bad-signature", target)
    assert sans_of(cred.cert) == list(SANS)  # still parses, fields intact
    assert not signed_by(cred.cert, target.ca.cert)
    with pytest.raises(InvalidSignature):
        verify_chain(cred)
    der = bytearray(cred.cert.public_bytes(Encoding.DER))
    der[-1] ^= 0x01  # flip the bit back: then the signature is the CA's
    assert signed_by(x509.load_der_x509_certificate(bytes(der)), target.ca.cert)


def test_issuer_not_ca(pki):
    _, target = pki
    cred = forge("issuer-not-ca", target)
    rogue = cred.chain[0]
    assert cred.chain[1:] == ((target.ca.cert,) if target.ca.cert != target.ca.anchor else ())
    assert not rogue.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert not rogue.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
    verify_chain(cred)  # every signature is genuine; only the CA flag is wrong
    assert cred.cert.issuer == rogue.subject


def test_weak_key(pki):
    _, target = pki
    cred = forge("weak-key", target)
    verify_chain(cred)
    key = cred.cert.public_key()
    assert isinstance(key, rsa.RSAPublicKey) and key.key_size == 1024


def test_no_san(pki):
    _, target = pki
    cred = forge("no-san", target)
    verify_chain(cred)
    assert sans_of(cred.cert) is None and cn_of(cred.cert) == HOST


def test_variants_pin_the_clock(pki):
    _, target = pki
    later = NOW + timedelta(days=30)
    cred = forge("good", Target(ca=target.ca, hostname=HOST, now=later))
    assert cred.cert.not_valid_after_utc > later
