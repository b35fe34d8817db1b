"""Parsers over captured s_client / gnutls-cli output (tests/data/tls/).

Fixtures were captured against the python agent server with a test PKI whose
leaf is CN=localhost issued by CN=tlslab test CA; the response body is the
97-byte HTTP/1.0 reply every server sends."""
from pathlib import Path

import pytest

from lab.tls.gnutls_parse import description_parts, description_suite, parse_gnutls_cli
from lab.tls.openssl_parse import parse_msg_trace, parse_s_client
from lab.tls.roles import DEFAULT_RESPONSE, http_response
from lab.tls.toolrun import ToolRun
from lab.tls.wire import first_certificate, server_hello_group, server_key_exchange_group

DATA = Path(__file__).resolve().parents[1] / "data" / "tls"
REPLY = http_response(DEFAULT_RESPONSE)


def tool_run(name: str) -> ToolRun:
    return ToolRun.from_text((DATA / f"{name}.stdout").read_bytes(), (DATA / f"{name}.stderr").read_bytes())


def s_client(name: str, offered_session: bool = False):
    return parse_s_client(tool_run(name), (DATA / f"{name}.msg").read_text(), offered_session=offered_session)


# --- openssl s_client -brief -msg ---------------------------------------------
def test_s_client_tls13_success():
    o = s_client("openssl_tls13_0")
    assert o.connected and o.version == "TLSv1.3" and o.cipher == "TLS_AES_256_GCM_SHA384"
    assert o.group == "x25519"
    assert (o.peer_subject, o.peer_issuer) == ("CN=localhost", "CN=tlslab test CA")
    assert len(o.peer_sha256) == 64
    assert o.bytes_received == len(REPLY) and o.resumed is False
    assert o.error_class is None and o.alert_sent is None and o.alert_received is None
    assert o.timings.handshake_done == 0.0 and o.timings.tcp_connect is None


def test_s_client_tls12_rsa_full_then_resumed():
    full = s_client("openssl_tls12_rsa_resume_0")
    resumed = s_client("openssl_tls12_rsa_resume_1", offered_session=True)
    assert full.cipher == resumed.cipher == "TLS_RSA_WITH_AES_128_GCM_SHA256"
    assert full.version == "TLSv1.2" and full.group is None  # RSA key exchange
    assert full.resumed is False and resumed.resumed is True
    assert resumed.peer_sha256 is None  # an abbreviated handshake carries no certificate


def test_s_client_untrusted_self_signed():
    o = s_client("openssl_selfsigned_0")
    assert not o.connected and o.error_class == "verify_failed"
    assert o.alert_sent == "unknown_ca"
    assert o.error_message == "certificate verify failed: self-signed certificate"
    assert o.peer_issuer == "CN=localhost"  # read from the Certificate message despite the failure
    assert o.bytes_received == 0


def test_s_client_wrong_hostname():
    o = s_client("openssl_wronghost_0")
    assert o.error_class == "verify_failed" and o.alert_sent == "bad_certificate"
    assert "hostname mismatch" in o.error_message and o.peer_subject == "CN=other.example"


def test_s_client_protocol_version_alert():
    o = s_client("openssl_protocol_version_0")
    assert o.error_class == "alert_received" and o.alert_received == "protocol_version"
    assert o.alert_sent is None and o.version is None


def test_s_client_timeout_and_refused():
    assert parse_s_client(ToolRun(rc=None, timed_out=True), "", offered_session=False).error_class == "timeout"
    refused = ToolRun.from_text(b"", b"40E7:error:8000006F:system library:BIO_connect:Connection refused:../crypto/bio/bio_sock2.c:125:calling connect()\nconnect:errno=111\n", rc=1)
    assert parse_s_client(refused, "", offered_session=False).error_class == "connect_failed"


def test_msg_trace_keeps_message_bodies_not_record_headers():
    msgs = parse_msg_trace((DATA / "openssl_tls13_0.msg").read_text())
    names = [m.name for m in msgs if m.kind == "Handshake" and not m.sent]
    assert names[:5] == ["ServerHello", "EncryptedExtensions", "Certificate", "CertificateVerify", "Finished"]
    hello = next(m for m in msgs if m.name == "ServerHello")
    assert hello.data[0] == 2 and int.from_bytes(hello.data[1:4], "big") == len(hello.data) - 4


def test_timestamps_map_to_chunks():
    run = ToolRun(0, False, [(0.5, b"abc"), (0.9, b"def")], [(0.2, b"CONNECTION "), (0.4, b"ESTABLISHED\n")])
    assert run.time_at("stdout", 0) == 0.5 and run.time_at("stdout", 4) == 0.9
    assert run.time_at("stdout", 6) is None
    assert run.time_of("stderr", b"CONNECTION ESTABLISHED") == 0.4


# --- gnutls-cli -d 5 -----------------------------------------------------------
def test_gnutls_tls13_success():
    [o] = parse_gnutls_cli(tool_run("gnutls_tls13_0"))
    assert o.connected and (o.version, o.cipher) == ("TLSv1.3", "TLS_AES_256_GCM_SHA384")
    assert o.group in ("secp256r1", "x25519") and o.resumed is False
    assert o.bytes_received == len(REPLY)  # the "- Peer has closed" trailer is not data


def test_gnutls_resume_run_holds_two_connections():
    first, second = parse_gnutls_cli(tool_run("gnutls_tls12_rsa_resume_0"))
    assert (first.index, second.index) == (0, 1)
    assert first.cipher == second.cipher == "TLS_RSA_WITH_AES_128_GCM_SHA256"
    assert first.resumed is False and second.resumed is True
    assert first.bytes_received == 0 and second.bytes_received == len(REPLY)


@pytest.mark.parametrize("case, status", [
    ("gnutls_selfsigned_0", "The certificate issuer is unknown"),
    ("gnutls_wronghost_0", "The name in the certificate does not match"),
])
def test_gnutls_verification_failures(case, status):
    [o] = parse_gnutls_cli(tool_run(case))
    assert not o.connected and o.error_class == "verify_failed"
    assert o.alert_sent == "bad_certificate"  # GnuTLS sends bad_certificate for both
    assert status in o.error_message and o.cipher is None


def test_gnutls_protocol_version_alert():
    [o] = parse_gnutls_cli(tool_run("gnutls_protocol_version_0"))
    assert o.error_class == "alert_received" and o.alert_received == "protocol_version"


@pytest.mark.parametrize("desc, suite, group", [
    ("(TLS1.3-X.509)-(ECDHE-X25519)-(RSA-PSS-RSAE-SHA256)-(AES-256-GCM)", "TLS_AES_256_GCM_SHA384", "x25519"),
    ("(TLS1.2-X.509)-(RSA)-(AES-128-GCM)", "TLS_RSA_WITH_AES_128_GCM_SHA256", None),
    ("(TLS1.2-X.509)-(ECDHE-SECP256R1)-(RSA-SHA256)-(AES-128-CBC)-(SHA1)", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "secp256r1"),
    ("(TLS1.2-X.509)-(ECDHE-SECP256R1)-(ECDSA-SECP256R1-SHA256)-(AES-128-GCM)", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "secp256r1"),
    # A resumed TLS 1.2 description drops the signature: RSA or ECDSA is unknown.
    ("(TLS1.2-X.509)-(ECDHE-SECP256R1)-(AES-256-GCM)", None, "secp256r1"),
    ("(TLS1.3-X.509)--(AES-256-GCM)", "TLS_AES_256_GCM_SHA384", None),
])
def test_gnutls_descriptions(desc, suite, group):
    assert description_suite(desc) == suite
    assert description_parts(desc)["group"] == group


# --- handshake bytes -------------------------------------------------------------
def test_wire_group_and_certificate():
    msgs = parse_msg_trace((DATA / "openssl_tls13_0.msg").read_text())
    hello = next(m for m in msgs if m.name == "ServerHello")
    assert server_hello_group(hello.data) == 29
    cert = next(m for m in msgs if m.name == "Certificate" and not m.sent)
    der = first_certificate(cert.data, tls13=True)
    assert der[0] == 0x30 and first_certificate(cert.data[:20], tls13=True) is None
    ske = bytes([12, 0, 0, 10, 3, 0, 23]) + bytes(7)
    assert server_key_exchange_group(ske) == 23
    assert server_hello_group(b"\x02\x00") is None and server_key_exchange_group(b"") is None
