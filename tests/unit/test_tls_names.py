import pytest

from lab.tls.names import (alert_code, alert_name, cipher_to_iana, group_name, suite,
                           suite_by_code, version_name)


@pytest.mark.parametrize("name, iana", [
    ("AES128-GCM-SHA256", "TLS_RSA_WITH_AES_128_GCM_SHA256"),           # OpenSSL
    ("ECDHE-RSA-AES256-GCM-SHA384", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"),
    ("AES128-SHA", "TLS_RSA_WITH_AES_128_CBC_SHA"),
    ("TLS_RSA_AES_128_GCM_SHA256", "TLS_RSA_WITH_AES_128_GCM_SHA256"),  # GnuTLS
    ("TLS_ECDHE_RSA_AES_128_CBC_SHA1", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"),
    ("TLS_ECDHE_RSA_CHACHA20_POLY1305", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"),
    ("TLS_AES_256_GCM_SHA384", "TLS_AES_256_GCM_SHA384"),               # TLS 1.3 everywhere
    ("tls_aes_128_gcm_sha256", "TLS_AES_128_GCM_SHA256"),
])
def test_cipher_names_normalise_to_iana(name, iana):
    assert cipher_to_iana(name) == iana


def test_unknown_cipher_passes_through_and_none_stays_none():
    assert cipher_to_iana("TLS_SOMETHING_NEW") == "TLS_SOMETHING_NEW"
    assert cipher_to_iana(None) is None


def test_suite_codes_and_dialects_agree():
    s = suite_by_code(0x009C)
    assert s.iana == "TLS_RSA_WITH_AES_128_GCM_SHA256"
    assert (s.kx, s.cipher, s.mac) == ("RSA", "AES-128-GCM", "AEAD")
    assert s.tlslite == ("rsa", "aes128gcm", "aead")
    assert suite("TLS_AES_128_GCM_SHA256").tls13 and not s.tls13


@pytest.mark.parametrize("text, name", [
    (48, "unknown_ca"),
    ("SSL alert number 48", "unknown_ca"),
    ("TLSV1_ALERT_UNKNOWN_CA", "unknown_ca"),
    ("tlsv1 alert unknown ca", "unknown_ca"),
    ("SSLV3_ALERT_BAD_CERTIFICATE", "bad_certificate"),
    ("sslv3 alert certificate expired", "certificate_expired"),
    ("SSLV3_ALERT_HANDSHAKE_FAILURE", "handshake_failure"),
    ("tlsv1 alert decrypt error", "decrypt_error"),
    ("TLSV1_ALERT_PROTOCOL_VERSION", "protocol_version"),
    ("TLSV13_ALERT_CERTIFICATE_REQUIRED", "certificate_required"),
    ("TLSV1_UNRECOGNIZED_NAME", "unrecognized_name"),
    ("[70]", "protocol_version"),
    ("fatal unknown_ca".split()[-1], "unknown_ca"),
])
def test_alert_names(text, name):
    assert alert_name(text) == name


def test_alert_name_unknown_and_codes():
    assert alert_name("CERTIFICATE_VERIFY_FAILED") is None
    assert alert_name(250) == "alert_250"
    assert alert_code("bad_certificate") == 42


@pytest.mark.parametrize("text, name", [
    (29, "x25519"), (23, "secp256r1"), ("X25519", "x25519"), ("prime256v1", "secp256r1"),
    ("P-384", "secp384r1"), ("GROUP-SECP521R1", "secp521r1"), ("SECP256R1", "secp256r1"),
    ("FFDHE2048", "ffdhe2048"), (0x11EC, "0x11ec"),
])
def test_group_names(text, name):
    assert group_name(text) == name


@pytest.mark.parametrize("text, name", [
    ("TLSv1.3", "TLSv1.3"), ("TLS1.2", "TLSv1.2"), ("TLS 1.2", "TLSv1.2"), ("1.3", "TLSv1.3"),
    ("TLS1.2-X.509", "TLSv1.2"), ("SSLv3", None), (None, None),
])
def test_version_names(text, name):
    assert version_name(text) == name
