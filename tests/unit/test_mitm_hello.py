"""lab.mitm.hello: ClientHello parsing and downgrade rewriting, on hellos
from the committed captures, and a real downgrade over memory BIOs."""
from __future__ import annotations

import hashlib
import ssl
import struct
from pathlib import Path

import pytest

from lab.analysis.pcap import read_pcap
from lab.analysis.stream import reassemble
from lab.analysis.tcp import split_connections
from lab.mitm import hello as h
from lab.mitm.leaks import what_leaks

DATA = Path(__file__).resolve().parents[1] / "data" / "mitm"


def flight(name: str, from_client: bool) -> bytes:
    [conn] = split_connections(read_pcap(str(DATA / f"{name}.pcap")))
    return reassemble(conn, from_client).data


def first_message(name: str, from_client: bool) -> bytes:
    records, _ = h.split_records(flight(name, from_client))
    return h.first_handshake_message(records)


def test_split_records_keeps_the_incomplete_tail():
    data = flight("tls12", True)
    records, rest = h.split_records(data[:-3])
    assert rest and len(records) < len(h.split_records(data)[0])
    assert h.split_records(data)[1] == b""


def test_encode_records_splits_at_2_to_the_14():
    body = bytes(40000)
    records, rest = h.split_records(h.encode_records(h.HANDSHAKE, h.TLS12, body))
    assert rest == b"" and [len(r.body) for r in records] == [16384, 16384, 7232]


@pytest.mark.parametrize("name", ["tls12", "tls13"])
def test_client_hello_round_trips_byte_for_byte(name):
    msg = first_message(name, True)
    ch = h.parse_client_hello(msg)
    assert h.encode_client_hello(ch) == msg
    assert h.server_name(ch) == "server.tlslab"


def test_supported_versions():
    assert h.supported_versions(h.parse_client_hello(first_message("tls13", True))) == (h.TLS13,)
    # TLS 1.2-only OpenSSL sends no supported_versions: legacy_version decides.
    assert h.supported_versions(h.parse_client_hello(first_message("tls12", True))) == (h.TLS12,)
    ch = h.parse_client_hello(first_message("tls13", True))
    grease = struct.pack("!B3H", 6, 0x3A3A, h.TLS13, h.TLS12)
    with_grease = h.ClientHello(ch.legacy_version, ch.random, ch.session_id, ch.cipher_suites,
                                ch.compression, ((h.EXT_SUPPORTED_VERSIONS, grease),))
    assert h.supported_versions(with_grease) == (h.TLS13, h.TLS12)
    assert h.is_grease(0x3A3A) and not h.is_grease(0x3A3B) and not h.is_grease(h.TLS13)


def test_downgrade_drops_supported_versions_and_keeps_everything_else():
    msg = first_message("tls13", True)
    ch = h.parse_client_hello(msg)
    new = h.downgrade(ch)
    out = h.parse_client_hello(h.encode_client_hello(new))
    assert out.extension(h.EXT_SUPPORTED_VERSIONS) is None
    assert out.legacy_version == h.TLS12 and h.supported_versions(out) == (h.TLS12,)
    assert [e for e in ch.extensions if e[0] != h.EXT_SUPPORTED_VERSIONS] == list(out.extensions)
    assert (out.random, out.session_id, out.cipher_suites) == (ch.random, ch.session_id, ch.cipher_suites)
    assert h.downgrade(ch, h.TLS11).legacy_version == h.TLS11
    with pytest.raises(ValueError):
        h.downgrade(ch, h.TLS13)


def test_downgrade_can_restrict_cipher_suites():
    ch = h.parse_client_hello(first_message("tls12", True))
    weak = 0xC013  # TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, offered by OpenSSL's defaults
    assert weak in ch.cipher_suites
    out = h.downgrade(ch, ciphers=(weak,))
    assert set(out.cipher_suites) <= {weak, *h.SCSVS} and weak in out.cipher_suites
    with pytest.raises(ValueError, match="offers none"):
        h.downgrade(ch, ciphers=(0x1234,))


def test_server_hello_and_sentinel():
    sh = h.parse_server_hello(first_message("tls13", False))
    assert sh.version == h.TLS13 and sh.legacy_version == h.TLS12 and sh.sentinel is None
    assert sh.version_name == "TLSv1.3"
    msg = bytearray(first_message("tls12", False))
    assert h.parse_server_hello(bytes(msg)).version == h.TLS12
    msg[6 + 24:6 + 32] = b"DOWNGRD\x01"  # the last 8 bytes of the server random
    assert h.parse_server_hello(bytes(msg)).sentinel == "TLSv1.2"
    msg[6 + 31] = 0
    assert h.parse_server_hello(bytes(msg)).sentinel == "TLSv1.1 or below"


def test_certificate_chain_of_a_tls12_certificate_message():
    records, _ = h.split_records(flight("tls12", False))
    body = b"".join(r.body for r in records if r.content_type == h.HANDSHAKE)
    messages = []
    while len(body) >= 4:
        end = 4 + int.from_bytes(body[1:4], "big")
        messages.append(body[:end])
        body = body[end:]
        if messages[-1][0] == h.CERTIFICATE:
            break
    [leaf] = h.certificate_chain(messages[-1], tls13=False)
    [conn] = what_leaks(read_pcap(str(DATA / "tls12.pcap")))["tls"]
    assert hashlib.sha256(leaf).hexdigest() == conn["certificates"][0]["sha256"]
    with pytest.raises(ValueError):
        h.certificate_chain(messages[-1], tls13=True)


def test_parsers_reject_garbage():
    for fn in (h.parse_client_hello, h.parse_server_hello):
        with pytest.raises(ValueError):
            fn(b"\x01\x00\x00\x10abc")
    with pytest.raises(ValueError):
        h.first_handshake_message([h.Record(h.APPDATA, h.TLS12, b"xx")])


def test_a_tls13_client_detects_the_rewritten_hello(tmp_path):
    """The rewrite against real OpenSSL ends: the server, offered no TLS 1.3,
    picks 1.2 and marks its random (RFC 8446 4.1.3); the client aborts."""
    from lab.pki import root_ca, server_cert, write_credential
    paths = write_credential(tmp_path, "s", server_cert(root_ca(), "server.tlslab"))
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(paths.chain, paths.key)
    cctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    cctx.load_verify_locations(str(paths.ca_bundle))
    bios = [ssl.MemoryBIO() for _ in range(4)]
    client = cctx.wrap_bio(bios[0], bios[1], server_hostname="server.tlslab")
    server = sctx.wrap_bio(bios[2], bios[3], server_side=True)
    with pytest.raises(ssl.SSLWantReadError):
        client.do_handshake()
    records, _ = h.split_records(bios[1].read())
    new = h.downgrade(h.parse_client_hello(h.first_handshake_message(records)))
    bios[2].write(h.encode_records(h.HANDSHAKE, records[0].version, h.encode_client_hello(new)))
    with pytest.raises(ssl.SSLWantReadError):
        server.do_handshake()
    reply = bios[3].read()
    assert h.parse_server_hello(h.first_handshake_message(h.split_records(reply)[0])).sentinel == "TLSv1.2"
    bios[0].write(reply)
    with pytest.raises(ssl.SSLError, match="INAPPROPRIATE_FALLBACK|inappropriate fallback"):
        client.do_handshake()
