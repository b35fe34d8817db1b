"""lab.analysis.tls, tls_messages and stream: checked against tshark and built bytes."""
from __future__ import annotations

import datetime
import hashlib
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from lab.analysis import tls_messages as tm
from lab.analysis.pcap import ACK, SYN, Packet, read_pcap
from lab.analysis.stream import reassemble
from lab.analysis.tcp import split_connections
from lab.analysis.tls import analyze_tls

PCAPS = Path(__file__).resolve().parents[1] / "data" / "pcaps"
TLS_CAPTURES = ["tls12_rsa", "tls12_ecdhe", "tls13", "tls13_hrr", "tls12_badcert",
                "tls13_badcert"]
TSHARK = shutil.which("tshark")
needs_tshark = pytest.mark.skipif(TSHARK is None, reason="tshark is not installed")
HANDSHAKE_NUMBERS = {name: num for num, name in tm.HANDSHAKE_TYPES.items()}
HANDSHAKE_NUMBERS["HelloRetryRequest"] = 2  # tshark shows it as a ServerHello


def session(name: str, ext: str = ".pcap"):
    (conn,) = split_connections(read_pcap(str(PCAPS / f"{name}{ext}")))
    return conn, analyze_tls(conn)


def tshark_fields(name: str, *fields: str, keys: bool = True) -> list[list[str]]:
    """tshark's view, decrypted with the committed key log unless keys=False."""
    conn, _ = session(name)
    argv = [TSHARK, "-r", str(PCAPS / f"{name}.pcap"), "-d", f"tcp.port=={conn.server_port},tls",
            "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=|"]
    if keys:
        argv += ["-o", f"tls.keylog_file:{PCAPS / f'{name}.keys'}"]
    for field in fields:
        argv += ["-e", field]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    return [line.split("\t") for line in out.splitlines()]


def values(cell: str) -> list[str]:
    return [v for v in cell.split("|") if v]


@needs_tshark
@pytest.mark.parametrize("name", TLS_CAPTURES)
def test_handshake_messages_sit_in_the_frames_tshark_decrypts_them_in(name):
    rows = tshark_fields(name, "frame.number", "tls.handshake.type")
    theirs = Counter((int(r[0]), int(t)) for r in rows for t in values(r[1]))
    _, tls = session(name)
    ours = Counter((m.index, HANDSHAKE_NUMBERS[m.kind]) for m in tls.messages
                   if m.kind in HANDSHAKE_NUMBERS)
    assert not ours - theirs
    # Only TLS 1.3's NewSessionTickets stay unnamed: they are data to an observer.
    assert {t for (_, t) in theirs - ours} <= ({4} if tls.tls13 else set())


@needs_tshark
@pytest.mark.parametrize("name", TLS_CAPTURES)
def test_hello_fields_match_tshark(name):
    rows = tshark_fields(name, "tls.handshake.type", "tls.handshake.ciphersuite",
                         "tls.handshake.extensions_server_name",
                         "tls.handshake.extensions.supported_version", keys=False)
    _, tls = session(name)
    typed = [(values(r[0])[0], r) for r in rows if r[0]]
    client_hello = next(r for t, r in typed if t == "1")
    server_hello = [r for t, r in typed if t == "2"][-1]  # the last one, after any HRR
    assert tls.sni == values(client_hello[2])[0]
    assert tls.cipher_suite == tm.cipher_suite_name(int(values(server_hello[1])[0], 16))
    assert tls.version == ("TLS 1.3" if "0x0304" in values(server_hello[3]) else "TLS 1.2")


@needs_tshark
@pytest.mark.parametrize("name", ["tls12_rsa", "tls12_ecdhe", "tls12_badcert"])
def test_certificate_matches_tshark(name):
    rows = tshark_fields(name, "tls.handshake.certificate", "x509ce.dNSName",
                         "x509sat.uTF8String", keys=False)
    row = next(r for r in rows if r[0])
    der = bytes.fromhex(values(row[0])[0].replace(":", ""))
    _, tls = session(name)
    (leaf,) = tls.certificates
    assert leaf.sha256 == hashlib.sha256(der).hexdigest()
    assert [s.removeprefix("DNS:") for s in leaf.sans if s.startswith("DNS:")] == values(row[1])
    assert "CN=server.tlslab.test" in leaf.subject and "server.tlslab.test" in values(row[2])


@needs_tshark
@pytest.mark.parametrize("name", ["tls12_badcert", "tls13_badcert", "tls13", "tls12_rsa"])
def test_alerts_match_tshark(name):
    rows = tshark_fields(name, "frame.number", "tls.alert_message.desc")
    theirs = {int(r[0]): [int(d) for d in values(r[1])] for r in rows if r[1]}
    _, tls = session(name)
    for m in tls.messages:
        if m.kind == "Alert":
            assert theirs[m.index] == [m.detail.code]
        elif m.kind == "EncryptedAlert":
            assert m.index in theirs  # tshark needs the keys to read it; we cannot
    assert len(theirs) == sum(m.kind in ("Alert", "EncryptedAlert") for m in tls.messages)


@needs_tshark
@pytest.mark.parametrize("name,field,kind", [
    ("tls12_rsa", "tls.handshake.epms_len", "rsa"),
    ("tls12_ecdhe", "tls.handshake.client_point_len", "ecdhe")])
def test_client_key_exchange_matches_tshark(name, field, kind):
    rows = tshark_fields(name, field, keys=False)
    (length,) = [int(r[0]) for r in rows if r[0]]
    _, tls = session(name)
    cke = next(m.detail for m in tls.messages if m.kind == "ClientKeyExchange")
    assert (cke.kind, cke.length) == (kind, length)


@needs_tshark
@pytest.mark.parametrize("name", ["tls12_rsa", "tls12_ecdhe"])
def test_application_data_record_sizes_match_tshark(name):
    rows = tshark_fields(name, "tcp.srcport", "tls.record.content_type", "tls.record.length",
                         keys=False)
    conn, tls = session(name)
    sizes = {True: [], False: []}
    for sport, types, lengths in rows:
        for t, n in zip(values(types), values(lengths)):
            if t == "23":
                sizes[int(sport) == conn.client_port].append(int(n))
    assert list(tls.client_app_data_sizes) == sizes[True]
    assert list(tls.server_app_data_sizes) == sizes[False]


# --- committed captures without tshark ---

def test_tls12_rsa_session():
    _, tls = session("tls12_rsa")
    assert [m.kind for m in tls.messages[:10]] == [
        "ClientHello", "ServerHello", "Certificate", "ServerHelloDone", "ClientKeyExchange",
        "ChangeCipherSpec", "Finished", "NewSessionTicket", "ChangeCipherSpec", "Finished"]
    assert (tls.version, tls.cipher_suite, tls.key_exchange, tls.alpn) == \
        ("TLS 1.2", "TLS_RSA_WITH_AES_128_GCM_SHA256", "rsa", "http/1.1")
    ch = tls.messages[0].detail
    assert ch.cipher_suites == ("TLS_RSA_WITH_AES_128_GCM_SHA256",
                                "TLS_EMPTY_RENEGOTIATION_INFO_SCSV")
    assert ch.alpn == ("h2", "http/1.1") and ch.compression_methods == (0,)
    leaf = tls.certificates[0]
    assert (leaf.public_key_type, leaf.public_key_bits, leaf.self_signed) == ("RSA", 2048, True)
    assert leaf.signature_algorithm == "sha256WithRSAEncryption"
    assert "IP:127.0.0.1" in leaf.sans
    assert tls.handshake_complete_index == 9


def test_tls12_ecdhe_key_exchange():
    _, tls = session("tls12_ecdhe")
    ske = next(m.detail for m in tls.messages if m.kind == "ServerKeyExchange")
    assert (ske.kind, ske.group, ske.public_key_len) == ("ecdhe", "x25519", 32)
    assert tls.messages[0].detail.supported_groups[:2] == ("x25519", "secp256r1")


def test_tls13_encrypted_flight_is_inferred():
    _, tls = session("tls13")
    kinds = [(m.kind, m.from_client, m.inferred) for m in tls.messages[:9]]
    assert kinds == [
        ("ClientHello", True, False), ("ServerHello", False, False),
        ("ChangeCipherSpec", False, False), ("EncryptedExtensions", False, True),
        ("Certificate", False, True), ("CertificateVerify", False, True),
        ("Finished", False, True), ("ChangeCipherSpec", True, False), ("Finished", True, True)]
    ch, sh = tls.messages[0].detail, tls.messages[1].detail
    assert ch.legacy_version == "TLS 1.2" and ch.supported_versions == ("TLS 1.3",)
    assert ch.key_share_groups == ("x25519",) and "rsa_pss_rsae_sha256" in ch.signature_algorithms
    assert (sh.legacy_version, sh.version, sh.tls13) == ("TLS 1.2", "TLS 1.3", True)
    assert tls.certificates == () and tls.alpn is None  # both are encrypted in TLS 1.3
    server_fin = tls.messages[6]
    assert (server_fin.first_index, server_fin.index) == (6, 7)  # record spans two segments


def test_hello_retry_request():
    _, tls = session("tls13_hrr")
    hrr = next(m for m in tls.messages if m.kind == "HelloRetryRequest")
    assert hrr.detail.hello_retry_request and hrr.detail.key_share_group == "secp256r1"
    hellos = [m.detail for m in tls.messages if m.kind == "ClientHello"]
    assert [h.key_share_groups for h in hellos] == [("x25519",), ("secp256r1",)]
    assert tls.hello_retry_request and tls.tls13


@pytest.mark.parametrize("name", ["tls12_badcert", "tls13_badcert"])
def test_rejected_certificate_alert(name):
    _, tls = session(name)
    assert [(a.level, a.description, a.code) for a in tls.alerts] == [("fatal", "unknown_ca", 48)]
    assert tls.handshake_complete_index is None


def test_pcapng_gives_the_same_session():
    assert session("tls12_badcert")[1] == session("tls12_badcert", ".pcapng")[1]


def test_plain_tcp_is_not_tls():
    for conn in split_connections(read_pcap(str(PCAPS / "tcp_retrans.pcap"))):
        assert analyze_tls(conn) is None


# --- pure parsers and reassembly on built bytes ---

def test_parse_client_hello_built_by_scapy():
    from scapy.layers.tls.extensions import (TLS_Ext_ALPN, TLS_Ext_ServerName,
                                             TLS_Ext_SupportedVersion_CH, ProtocolName,
                                             ServerName)
    from scapy.layers.tls.handshake import TLSClientHello
    msg = bytes(TLSClientHello(ciphers=[0x1301, 0xC02F], ext=[
        TLS_Ext_ServerName(servernames=[ServerName(servername=b"example.test")]),
        TLS_Ext_SupportedVersion_CH(versions=[0x0304, 0x0303]),
        TLS_Ext_ALPN(protocols=[ProtocolName(protocol=b"h2")])]))
    ch = tm.parse_client_hello(msg)
    assert ch.cipher_suites == ("TLS_AES_128_GCM_SHA256",
                                "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")
    assert (ch.sni, ch.supported_versions, ch.alpn) == ("example.test", ("TLS 1.3", "TLS 1.2"),
                                                        ("h2",))
    assert ch.extensions == ("server_name", "supported_versions", "alpn")


def test_alert_and_key_exchange_parsers():
    assert tm.parse_alert(b"\x02\x28") == tm.Alert("fatal", "handshake_failure", 40)
    with pytest.raises(ValueError):
        tm.parse_alert(b"\x02")
    assert tm.key_exchange_of("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256") == "ecdhe"
    assert tm.key_exchange_of("TLS_DHE_RSA_WITH_AES_128_GCM_SHA256") == "dhe"
    assert tm.key_exchange_of("TLS_RSA_WITH_AES_128_CBC_SHA") == "rsa"
    assert tm.key_exchange_of("TLS_CHACHA20_POLY1305_SHA256") == "tls13"
    cke = tm.parse_client_key_exchange(b"\x10\x00\x00\x21\x20" + b"k" * 32, "ecdhe")
    assert (cke.carries, cke.length) == ("client ephemeral public key", 32)
    ske = tm.parse_server_key_exchange(b"\x0c\x00\x00\x45\x03\x00\x17\x41" + b"p" * 65, "ecdhe")
    assert (ske.group, ske.public_key_len) == ("secp256r1", 65)


def test_certificate_info_from_cryptography():
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "leaf.test")])
    issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ca.test")])
    start = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(issuer)
            .public_key(key.public_key()).serial_number(0x1234).not_valid_before(start)
            .not_valid_after(start + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("leaf.test")]), False)
            .sign(key, hashes.SHA256()))
    der = cert.public_bytes(serialization.Encoding.DER)
    info = tm.certificate_info(der)
    assert (info.subject, info.issuer, info.serial) == ("CN=leaf.test", "CN=ca.test", "1234")
    assert (info.public_key_type, info.public_key_bits) == ("EC secp256r1", 256)
    assert (info.not_before, info.not_after) == ("2024-01-01T00:00:00Z", "2024-01-31T00:00:00Z")
    assert info.signature_algorithm == "ecdsa-with-SHA256" and info.sans == ("DNS:leaf.test",)
    assert not info.self_signed
    # Wrapped in a Certificate message: 3-byte list length, 3-byte entry length.
    entry = len(der).to_bytes(3, "big") + der
    body = len(entry).to_bytes(3, "big") + entry
    chain = tm.parse_certificate(b"\x0b" + len(body).to_bytes(3, "big") + body)
    assert chain.certificates == (info,)


def _data(i, seq, payload, from_client=True):
    src, dst = ("10.0.0.1", 1), ("10.0.0.2", 2)
    if not from_client:
        src, dst = dst, src
    return Packet(i, i * 1000, src[0], dst[0], src[1], dst[1], ACK, seq, 0, 100,
                  len(payload), payload=payload)


def test_reassembly_orders_dedupes_and_times_early_bytes_by_the_gap_filler():
    syn = Packet(1, 0, "10.0.0.1", "10.0.0.2", 1, 2, SYN, 99, 0, 100, 0)
    pkts = [syn, _data(2, 100, b"abc"), _data(3, 106, b"ghi"), _data(4, 100, b"abc"),
            _data(5, 103, b"def"), _data(6, 105, b"fg")]
    (conn,) = split_connections(pkts)
    stream = reassemble(conn, True)
    assert stream.data == b"abcdefghi" and stream.complete
    assert stream.chunk_at(0).index == 2
    assert stream.chunk_at(8).index == 5  # arrived in 3, usable once 5 filled the hole


def test_reassembly_with_a_hole_is_incomplete():
    syn = Packet(1, 0, "10.0.0.1", "10.0.0.2", 1, 2, SYN, 99, 0, 100, 0)
    (conn,) = split_connections([syn, _data(2, 100, b"abc"), _data(3, 110, b"xyz")])
    stream = reassemble(conn, True)
    assert stream.data == b"abc" and not stream.complete
