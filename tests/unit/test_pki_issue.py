"""lab.pki.issue and lab.pki.keys: CAs, server and client leaves."""
from __future__ import annotations

import ipaddress
from datetime import datetime, timezone

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from lab.errors import InputError
from lab.pki import KeySpec, client_cert, clone, generate_key, parse_key_spec, root_ca, server_cert
from lab.pki.issue import CA_VALIDITY, CLOCK_SKEW, LEAF_VALIDITY, general_name

from pki_support import HOST, issuing_ca, openssl_verify, verify_chain

CHAINS = [
    pytest.param(KeySpec.RSA2048, False, id="rsa-root"),
    pytest.param(KeySpec.RSA2048, True, id="rsa-intermediate"),
    pytest.param(KeySpec.ECDSA_P256, False, id="ecdsa-root"),
    pytest.param(KeySpec.ECDSA_P256, True, id="ecdsa-intermediate"),
]


def spki(cert: x509.Certificate) -> bytes:
    return cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def ext(cert: x509.Certificate, cls):
    return cert.extensions.get_extension_for_class(cls)


@pytest.mark.parametrize("spec, with_intermediate", CHAINS)
def test_good_chain_verifies_with_cryptography_and_openssl(tmp_path, spec, with_intermediate):
    root, ca = issuing_ca(spec, with_intermediate)
    cred = server_cert(ca, HOST, (HOST, "alt.lab", "10.0.0.2"), spec)

    verify_chain(cred)
    assert cred.anchor == root.cert
    assert cred.chain == ((ca.cert,) if with_intermediate else ())
    assert ext(cred.cert, x509.SubjectAlternativeName).value == x509.SubjectAlternativeName(
        [x509.DNSName(HOST), x509.DNSName("alt.lab"), x509.IPAddress(ipaddress.ip_address("10.0.0.2"))]
    )
    code, out = openssl_verify(tmp_path, cred, [root.cert], "-purpose", "sslserver", "-x509_strict")
    assert (code, out.strip()) == (0, f"{tmp_path / 'leaf.crt'}: OK")
    code, out = openssl_verify(tmp_path, cred, [root.cert], "-verify_ip", "10.0.0.2", hostname=None)
    assert code == 0, out


def test_ca_extensions_follow_rfc5280():
    root, inter = issuing_ca(KeySpec.ECDSA_P256, True)
    for ca, path_length in ((root, None), (inter, 0)):
        bc = ext(ca.cert, x509.BasicConstraints)
        assert bc.critical and bc.value.ca and bc.value.path_length == path_length
        assert ext(ca.cert, x509.KeyUsage).value.key_cert_sign
    assert root.cert.subject == root.cert.issuer
    assert inter.cert.issuer == root.cert.subject
    # Roots carry no AKI; everything they sign does, pointing at the root's key.
    with pytest.raises(x509.ExtensionNotFound):
        ext(root.cert, x509.AuthorityKeyIdentifier)
    aki = ext(inter.cert, x509.AuthorityKeyIdentifier).value.key_identifier
    assert aki == ext(root.cert, x509.SubjectKeyIdentifier).value.digest


@pytest.mark.parametrize(
    "spec, kind, size",
    [(KeySpec.RSA2048, rsa.RSAPublicKey, 2048), (KeySpec.RSA3072, rsa.RSAPublicKey, 3072),
     (KeySpec.ECDSA_P256, ec.EllipticCurvePublicKey, 256)],
)
def test_leaf_key_types(spec, kind, size):
    _, ca = issuing_ca(KeySpec.ECDSA_P256, False)
    cred = server_cert(ca, HOST, key_spec=spec)
    key = cred.cert.public_key()
    assert isinstance(key, kind) and key.key_size == size
    assert cred.key.public_key() == key
    verify_chain(cred)


def test_every_leaf_has_its_own_key():
    _, ca = issuing_ca(KeySpec.ECDSA_P256, True)
    a, b = server_cert(ca, HOST), server_cert(ca, HOST)
    keys = {spki(cred.cert) for cred in (a, b, ca)}
    assert len(keys) == 3
    assert a.cert.serial_number != b.cert.serial_number


def test_leaf_fields_and_validity_window():
    _, ca = issuing_ca(KeySpec.ECDSA_P256, False)
    now = datetime(2030, 6, 1, 12, tzinfo=timezone.utc)
    cred = server_cert(ca, HOST, now=now)
    cert = cred.cert
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == HOST
    assert cert.not_valid_before_utc == now - CLOCK_SKEW
    assert cert.not_valid_after_utc == now + LEAF_VALIDITY
    assert not ext(cert, x509.BasicConstraints).value.ca
    assert list(ext(cert, x509.ExtendedKeyUsage).value) == [ExtendedKeyUsageOID.SERVER_AUTH]
    ku = ext(cert, x509.KeyUsage).value
    assert ku.digital_signature and not ku.key_cert_sign
    assert root_ca(key_spec=KeySpec.ECDSA_P256, now=now).cert.not_valid_after_utc == now + CA_VALIDITY


@pytest.mark.parametrize("with_intermediate", [False, True])
def test_client_cert_for_mutual_tls(tmp_path, with_intermediate):
    root, ca = issuing_ca(KeySpec.RSA2048, with_intermediate)
    cred = client_cert(ca, "alice", KeySpec.ECDSA_P256)
    assert list(ext(cred.cert, x509.ExtendedKeyUsage).value) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    verify_chain(cred)
    code, out = openssl_verify(tmp_path, cred, [root.cert], "-purpose", "sslclient", hostname=None)
    assert code == 0, out
    code, out = openssl_verify(tmp_path, cred, [root.cert], "-purpose", "sslserver", hostname=None)
    assert code != 0 and "unsuitable certificate purpose" in out


def test_clone_copies_subject_and_sans_under_another_issuer():
    root, ca = issuing_ca(KeySpec.ECDSA_P256, True)
    real = server_cert(ca, HOST, (HOST, "www.lab")).cert
    other = root_ca("someone else", KeySpec.ECDSA_P256)
    copy = clone(real, other, KeySpec.ECDSA_P256)
    assert copy.cert.subject == real.subject
    assert ext(copy.cert, x509.SubjectAlternativeName).value == ext(real, x509.SubjectAlternativeName).value
    assert copy.cert.issuer == other.cert.subject and copy.anchor == other.cert
    assert spki(copy.cert) != spki(real)


def test_key_spec_names():
    assert parse_key_spec("ecdsa-p256") is KeySpec.ECDSA_P256
    assert parse_key_spec("rsa3072") is KeySpec.RSA3072
    with pytest.raises(InputError, match=r"unknown key type 'rsa1024' \(known: rsa2048, rsa3072, ecdsa-p256\)"):
        parse_key_spec("rsa1024")  # the weak-key variant's size is not offered to users
    assert generate_key(KeySpec.RSA1024).key_size == 1024


@pytest.mark.parametrize("bad", ["", "a..b", "-x.lab", "bad_host.lab", "x" * 64 + ".lab", "ünï.lab"])
def test_bad_san_is_input_error(bad):
    with pytest.raises(InputError):
        general_name(bad)


def test_long_hostname_is_input_error():
    _, ca = issuing_ca(KeySpec.ECDSA_P256, False)
    with pytest.raises(InputError, match="ub-common-name"):
        server_cert(ca, "a" * 61 + ".lab")  # a valid DNS name, 65 characters
