"""lab.decrypt: key derivation against published vectors, record decryption
round trips, and decrypting the committed captures and run directories."""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

from lab.analysis import read_pcap, split_connections
from lab.decrypt import kdf, load_keylog, load_server_keys, open_connection, parse_keylog
from lab.decrypt.records import CipherSpec, RecordKeys, cipher_spec, decrypt12, decrypt13

DATA = Path(__file__).resolve().parents[1] / "data"
PCAPS, RUNS = DATA / "pcaps", DATA / "runs"
TLS_CAPTURES = ["tls12_rsa", "tls12_ecdhe", "tls13", "tls13_hrr", "tls12_badcert",
                "tls13_badcert"]
TSHARK = shutil.which("tshark")
needs_tshark = pytest.mark.skipif(TSHARK is None, reason="tshark is not installed")
REQUEST = b"GET /index.html HTTP/1.0\r\nHost: tlslab\r\n\r\n"  # the scenarios' default


def only_connection(path: Path):
    (conn,) = split_connections(read_pcap(str(path)))
    return conn


def open_pcap(name: str, **kw):
    return open_connection(only_connection(PCAPS / f"{name}.pcap"),
                           load_keylog(str(PCAPS / f"{name}.keys")), **kw)


def run_connection(run: str, host: str = "client"):
    return only_connection(RUNS / run / "captures" / f"{host}-eth0.pcap")


def sent_sha256(run: str) -> str:
    result = json.loads((RUNS / run / "result.json").read_text())
    return result["connections"][0]["outcome"]["sent_sha256"]


# --- key derivation: published test vectors ----------------------------------

def test_tls12_prf_sha256_vector():
    # The widely used P_SHA256 vector (IETF TLS list, "test label").
    out = kdf.prf12("sha256", bytes.fromhex("9bbe436ba940f017b17652849a71db35"), b"test label",
                    bytes.fromhex("a0ba9f936cda311827a6f796ffd5198c"), 100)
    assert out.hex().startswith("e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a")
    assert out.hex().endswith("a48082d122ee42c5a72e5a5110fff70187347b66")


def test_tls13_traffic_key_and_iv_rfc8448():
    # RFC 8448 section 3: the server handshake traffic secret's write key and IV.
    secret = bytes.fromhex("b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38")
    key, iv = kdf.traffic_key_iv("sha256", secret, 16)
    assert key.hex() == "3fce516009c21727d0f2e4e86ee403bc"
    assert iv.hex() == "5d313eb2671276ee13000b30"


def test_message_hash_replaces_the_first_client_hello():
    ch = b"\x01\x00\x00\x02ab"
    assert kdf.message_hash("sha256", ch) == b"\xfe\x00\x00\x20" + hashlib.sha256(ch).digest()


# --- records -------------------------------------------------------------------

def test_tls13_record_round_trip_strips_padding_and_type():
    spec = CipherSpec("AESGCM", 16, 12, 0, 16, "sha256")
    key, iv, seq = bytes(range(16)), bytes(range(12)), 5
    header = bytes([23, 3, 3, 0, 0])
    nonce = bytes(a ^ b for a, b in zip(iv, seq.to_bytes(12, "big")))
    inner = b"hello" + bytes([23]) + bytes(7)  # content, type, zero padding
    body = AESGCM(key).encrypt(nonce, inner, header[:3] + (len(inner) + 16).to_bytes(2, "big"))
    header = header[:3] + len(body).to_bytes(2, "big")
    assert decrypt13(RecordKeys(spec, key, iv), seq, header, body) == (23, b"hello")
    with pytest.raises(ValueError, match="authentication failed"):
        decrypt13(RecordKeys(spec, key, iv), seq + 1, header, body)


def test_tls12_gcm_and_chacha_records():
    key, plain, seq = bytes(16), b"data", 3
    aad = seq.to_bytes(8, "big") + b"\x17\x03\x03" + len(plain).to_bytes(2, "big")
    salt, explicit = b"SALT", b"EXPLICIT"
    body = explicit + AESGCM(key).encrypt(salt + explicit, plain, aad)
    gcm = cipher_spec("TLS_RSA_WITH_AES_128_GCM_SHA256", tls13=False)
    assert decrypt12(RecordKeys(gcm, key, salt), seq, 23, b"\x03\x03", body) == plain

    key32, iv = bytes(32), bytes(range(12))
    nonce = bytes(a ^ b for a, b in zip(iv, seq.to_bytes(12, "big")))
    body = ChaCha20Poly1305(key32).encrypt(nonce, plain, aad)
    chacha = cipher_spec("TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", tls13=False)
    assert (chacha.fixed_iv_len, chacha.explicit_len) == (12, 0)
    assert decrypt12(RecordKeys(chacha, key32, iv), seq, 23, b"\x03\x03", body) == plain


def test_cbc_suites_are_not_claimed():
    assert cipher_spec("TLS_RSA_WITH_AES_128_CBC_SHA256", tls13=False) is None


def test_keylog_parsing_skips_comments_and_junk():
    log = parse_keylog("# comment\nCLIENT_RANDOM aa bb\nRSA 0102 0303\nnonsense\nX zz 00\n")
    assert log.get("CLIENT_RANDOM", b"\xaa") == b"\xbb"
    assert log.rsa == {b"\x01\x02": b"\x03\x03"}


# --- the committed captures ------------------------------------------------------

@pytest.mark.parametrize("name", TLS_CAPTURES)
def test_every_encrypted_record_of_the_committed_captures_decrypts(name):
    opened = open_pcap(name)
    done, total = opened.counts
    assert done == total, opened.status
    finished = [m.detail.verified for r in opened.records for m in r.messages if m.type == 20]
    assert all(finished), "a Finished did not match the recomputed transcript hash"


def test_hello_retry_request_transcript_checks_out():
    opened = open_pcap("tls13_hrr")
    finished = [m.detail.verified for r in opened.records for m in r.messages if m.type == 20]
    assert finished == [True, True]  # message_hash(ClientHello1) at the transcript's head


def tshark_follow(pcap: Path, keys: Path) -> set[bytes]:
    """tshark's decrypted stream, one byte string per direction."""
    out = subprocess.run([TSHARK, "-r", str(pcap), "-o", f"tls.keylog_file:{keys}", "-q",
                          "-z", "follow,tls,raw,0"], capture_output=True, text=True,
                         check=True).stdout
    body = out.split("=" * 67)[1].splitlines()
    data = [line for line in body if line.strip() and ":" not in line]
    tabbed = b"".join(bytes.fromhex(line.strip()) for line in data if line.startswith("\t"))
    plain = b"".join(bytes.fromhex(line.strip()) for line in data if not line.startswith("\t"))
    return {tabbed, plain}


@needs_tshark
@pytest.mark.parametrize("name", ["tls12_rsa", "tls12_ecdhe", "tls13", "tls13_hrr"])
def test_decrypted_data_equals_tsharks(name):
    opened = open_pcap(name)
    assert {opened.app_data(True), opened.app_data(False)} == \
        tshark_follow(PCAPS / f"{name}.pcap", PCAPS / f"{name}.keys")
    assert opened.app_data(True) == b"GET / HTTP/1.0\r\n\r\n"  # make_pcaps.sh's request


# --- run directories: 2.5 and 2.6 for real ----------------------------------------

def test_rsa_master_secret_from_the_server_key_equals_the_key_logs():
    run = RUNS / "tls12-rsa-openssl"
    keys = load_server_keys([str(run / "certs" / "server.key")])
    for host in ("client", "server"):
        opened = open_connection(run_connection(run.name, host),
                                 load_keylog(str(run / "keys" / "all.keylog")), keys)
        rsa = opened.rsa
        assert rsa is not None and rsa.matches_keylog is True
        assert rsa.pre_master == rsa.keylog_pre_master  # the key log's RSA line
        assert rsa.client_version == 0x0303 and len(rsa.pre_master) == 48
        assert rsa.extended  # OpenSSL negotiates RFC 7627's extended master secret


def test_server_key_alone_decrypts_tls12_rsa():
    run = RUNS / "tls12-rsa-openssl"
    keys = load_server_keys([str(run / "certs" / "server.key"), str(run / "certs" / "ca.pem")])
    opened = open_connection(run_connection(run.name), None, keys)
    assert opened.counts[0] == opened.counts[1] and opened.secrets_from.startswith("server key")
    data = opened.app_data(True)
    assert data == REQUEST
    assert hashlib.sha256(data).hexdigest() == sent_sha256(run.name)


def test_wrong_server_key_is_not_used():
    run = RUNS / "tls12-rsa-openssl"
    other = load_server_keys([str(RUNS / "tls13-openssl" / "certs" / "server.key")])
    opened = open_connection(run_connection(run.name), None, other)
    assert opened.rsa is None and opened.counts[0] == 0


@pytest.mark.parametrize("run", ["tls12-rsa-openssl", "tls13-openssl"])
def test_decrypted_request_is_what_the_client_sent(run):
    opened = open_connection(run_connection(run),
                             load_keylog(str(RUNS / run / "keys" / "all.keylog")))
    assert hashlib.sha256(opened.app_data(True)).hexdigest() == sent_sha256(run)
    assert opened.app_data(True) == REQUEST


def test_without_keys_nothing_is_decrypted_but_records_are_listed():
    opened = open_connection(run_connection("tls13-openssl"))
    done, total = opened.counts
    assert done == 0 and total > 0
    assert "no TLS 1.3 traffic secret" in opened.status


def test_tls12_resumption_reuses_the_earlier_connections_master_secret():
    """gnutls logs only the first connection's master secret; the second
    connection resumes by session ticket, so the ticket carries it over."""
    run = RUNS / "tls12-resumption-gnutls"
    keylog = load_keylog(str(run / "keys" / "all.keylog"))
    first, second = split_connections(read_pcap(str(run / "captures" / "client-eth0.pcap")))
    assert open_connection(second, keylog).counts[0] == 0  # alone, it cannot be opened
    sessions: dict = {}
    full = open_connection(first, keylog, sessions=sessions)
    resumed = open_connection(second, keylog, sessions=sessions)
    assert resumed.master_secret == full.master_secret
    assert "session ticket resumption" in resumed.secrets_from
    assert resumed.counts[0] == resumed.counts[1]
    finished = [m.detail.verified for r in resumed.records for m in r.messages if m.type == 20]
    assert finished == [True, True]  # the abbreviated handshake's transcript
    assert hashlib.sha256(resumed.app_data(True)).hexdigest() == json.loads(
        (run / "result.json").read_text())["connections"][1]["outcome"]["sent_sha256"]
