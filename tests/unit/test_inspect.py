"""lab.inspect and `tlslab inspect`: the fields the timeline shows equal
tshark's dissection of the same packets, decrypted with the same keys."""
from __future__ import annotations

import argparse
import io
import json
import re
import shutil
import subprocess
from collections import Counter
from functools import lru_cache
from pathlib import Path

import pytest
from cryptography import x509

from lab.analysis import tls_messages as tm
from lab.analysis import to_jsonable
from lab.cli import inspect_cmd
from lab.errors import InputError
from lab.inspect.compare import compare_target
from lab.inspect.target import host_views, open_target
from lab.inspect.text import render_comparisons, render_views

DATA = Path(__file__).resolve().parents[1] / "data"
PCAPS, RUNS = DATA / "pcaps", DATA / "runs"
TSHARK = shutil.which("tshark")
needs_tshark = pytest.mark.skipif(TSHARK is None, reason="tshark is not installed")
HANDSHAKE_NUMBERS = {name: num for num, name in tm.HANDSHAKE_TYPES.items()}
HANDSHAKE_NUMBERS["HelloRetryRequest"] = 2  # tshark shows it as a ServerHello

# (capture, key log): the committed pcaps and each run's client and server captures.
CASES = [(PCAPS / f"{n}.pcap", PCAPS / f"{n}.keys") for n in
         ("tls12_rsa", "tls12_ecdhe", "tls13", "tls13_hrr", "tls12_badcert", "tls13_badcert")]
CASES += [(RUNS / r / "captures" / f"{h}-eth0.pcap", RUNS / r / "keys" / "all.keylog")
          for r in ("tls12-rsa-openssl", "tls13-openssl", "tls12-resumption-gnutls")
          for h in ("client", "server")]
IDS = [f"{p.parents[1].name}/{p.stem}" if p.parent.name == "captures" else p.stem
       for p, _ in CASES]


@lru_cache(maxsize=None)
def views_of(pcap: Path, keys: Path):
    target = open_target(str(pcap), str(keys))
    return tuple(host_views(target, target.default_host()))


TSHARK_FIELDS = ("tls.handshake.type", "tls.handshake.ciphersuite",
                 "tls.handshake.extensions_server_name", "tls.handshake.certificate",
                 "tls.alert_message.desc")


@lru_cache(maxsize=None)
def tshark_rows(pcap: Path, keys: Path) -> tuple[tuple[str, ...], ...]:
    """tshark's dissection, decrypted with the same key log: one run per capture."""
    argv = [TSHARK, "-r", str(pcap), "-o", f"tls.keylog_file:{keys}", "-T", "fields",
            "-E", "occurrence=a", "-E", "aggregator=|", "-e", "frame.number"]
    for f in TSHARK_FIELDS:
        argv += ["-e", f]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    return tuple(tuple(line.split("\t")) for line in out.splitlines())


def tshark(pcap: Path, keys: Path, *fields: str) -> list[list[str]]:
    """Frame number, then the named fields, for every frame."""
    cols = [0] + [1 + TSHARK_FIELDS.index(f) for f in fields]
    return [[row[c] for c in cols] for row in tshark_rows(pcap, keys)]


def values(cell: str) -> list[str]:
    return [v for v in cell.split("|") if v]


def lines(views):
    return [(row.index, line) for v in views for row in v.rows for line in row.tls]


def field(line, name: str) -> str:
    return next(f.value for f in line.fields if f.name == name)


@needs_tshark
@pytest.mark.parametrize("pcap,keys", CASES, ids=IDS)
def test_handshake_types_per_frame_equal_tsharks(pcap, keys):
    theirs = Counter((int(r[0]), int(t)) for r in tshark(pcap, keys, "tls.handshake.type")
                     for t in values(r[1]))
    ours = Counter((index, HANDSHAKE_NUMBERS[line.kind]) for index, line in
                   lines(views_of(pcap, keys)) if line.kind in HANDSHAKE_NUMBERS)
    assert ours == theirs


@needs_tshark
@pytest.mark.parametrize("pcap,keys", CASES, ids=IDS)
def test_cipher_suite_and_sni_equal_tsharks(pcap, keys):
    rows = tshark(pcap, keys, "tls.handshake.type", "tls.handshake.ciphersuite",
                  "tls.handshake.extensions_server_name")
    for view in views_of(pcap, keys):
        mine = lines([view])
        sh = [(i, l) for i, l in mine if l.kind == "ServerHello"]
        ch = [(i, l) for i, l in mine if l.kind == "ClientHello"]
        by_frame = {int(r[0]): r for r in rows}
        for index, line in sh:
            suite = tm.cipher_suite_name(int(values(by_frame[index][2])[0], 16))
            assert field(line, "cipher suite") == suite == view.tls.cipher_suite
        for index, line in ch:
            assert field(line, "SNI") == values(by_frame[index][3])[0] == view.tls.sni


@needs_tshark
@pytest.mark.parametrize("pcap,keys", CASES, ids=IDS)
def test_certificate_subjects_equal_tsharks(pcap, keys):
    """tshark extracts the certificate bytes (decrypted in TLS 1.3); the subject
    and fingerprint we show must be theirs."""
    theirs = []
    for r in tshark(pcap, keys, "tls.handshake.certificate"):
        for der_hex in values(r[1])[:1]:  # the leaf
            der = bytes.fromhex(der_hex.replace(":", ""))
            theirs.append((int(r[0]), x509.load_der_x509_certificate(der).subject.rfc4514_string()))
    ours = [(i, field(l, "leaf subject")) for i, l in lines(views_of(pcap, keys))
            if l.kind == "Certificate" and not l.from_client]
    assert ours == theirs


@needs_tshark
@pytest.mark.parametrize("pcap,keys", CASES, ids=IDS)
def test_alert_descriptions_equal_tsharks(pcap, keys):
    theirs = [(int(r[0]), int(d)) for r in tshark(pcap, keys, "tls.alert_message.desc")
              for d in values(r[1])]
    ours = [(i, int(field(l, "description").rsplit("(", 1)[1].rstrip(")")))
            for i, l in lines(views_of(pcap, keys)) if l.kind == "Alert"]
    assert ours == theirs


def test_every_packet_is_a_row_with_relative_and_absolute_numbers():
    (view,) = views_of(PCAPS / "tls12_rsa.pcap", PCAPS / "tls12_rsa.keys")
    syn = view.rows[0]
    assert syn.flags == "SYN" and syn.step == "1.1" and syn.rel_seq == 0
    assert syn.seq == view.tcp.client_isn and "mss=" in syn.options
    assert view.rows[1].rel_ack == 1 and view.rows[1].ack == view.tcp.client_isn + 1
    steps = [line.step for _, line in lines([view])]
    for number in ("2.1", "2.2", "2.3", "2.7", "2.5", "2.6", "2.8", "2.9", "2.10", "2.11", "3"):
        assert number in steps


def test_tls13_encrypted_handshake_is_named_once_decrypted():
    (view,) = views_of(PCAPS / "tls13.pcap", PCAPS / "tls13.keys")
    kinds = [line.kind for _, line in lines([view]) if line.decrypted]
    assert kinds[:5] == ["EncryptedExtensions", "Certificate", "CertificateVerify", "Finished",
                         "Finished"]
    assert not any("(inferred)" in line.label for _, line in lines([view]))
    assert view.tls.alpn == "http/1.1"  # from the decrypted EncryptedExtensions
    assert view.tls.finished_verified == (True, True)


def test_rsa_run_shows_steps_2_5_and_2_6_computed():
    target = open_target(str(RUNS / "tls12-rsa-openssl"))
    (view,) = host_views(target, "client")
    master = next(line for _, line in lines([view]) if line.step == "2.6")
    assert "equal: computed from the wire and the server key" in \
        field(master, "key log master secret")
    assert view.rows[0].sent is True and view.rows[1].sent is False  # the client's vantage


def test_json_is_the_same_analysis():
    out, status = run_cli("inspect", str(RUNS / "tls13-openssl"), "--json")
    assert status == 0
    (conn,) = json.loads(out)
    assert conn["vantage"] == "client:eth0"
    assert conn["tls"]["cipher_suite"] == "TLS_AES_256_GCM_SHA384"
    assert bytes.fromhex(conn["tls"]["client_data"]) == \
        b"GET /index.html HTTP/1.0\r\nHost: tlslab\r\n\r\n"
    assert len(conn["rows"]) == conn["tcp"]["packets"]


def test_text_is_plain_when_piped_and_coloured_on_a_tty():
    views = list(views_of(PCAPS / "tls13.pcap", PCAPS / "tls13.keys"))
    plain, color = render_views(views, color=False), render_views(views, color=True)
    assert "\x1b[" not in plain and "\x1b[" in color
    assert "2.11 server Finished" in plain and "GET / HTTP/1.0" in plain
    header = next(line for line in plain.splitlines() if line.lstrip().startswith("#"))
    assert "abs seq" in header and "options" in header


def test_compare_lines_up_client_and_server_captures():
    target = open_target(str(RUNS / "tls12-rsa-openssl"))
    (cmp,) = compare_target(target, "client")
    assert cmp.vantages == ("client:eth0", "server:eth0")
    assert all(all(s is not None for s in row.seen) for row in cmp.rows)  # nothing lost
    syn = cmp.rows[0]
    assert syn.flags == "SYN" and syn.seen[0].rel_ms <= syn.seen[1].rel_ms
    assert "client:eth0" in render_comparisons([cmp])


def test_compare_marks_a_segment_one_host_never_saw():
    target = open_target(str(RUNS / "tls12-rsa-openssl"))
    views = host_views(target, "client") + host_views(target, "server")
    from dataclasses import replace

    from lab.inspect.compare import compare
    server = views[1]
    cut = replace(server, rows=server.rows[:5] + server.rows[6:])  # "drop" one segment
    cmp = compare([views[0], cut])
    missing = [row for row in cmp.rows if row.seen[1] is None]
    assert len(missing) == 1 and len(cmp.rows) == len(views[0].rows)
    assert "-- not captured" in render_comparisons([cmp])


def run_cli(*argv: str) -> tuple[str, int]:
    parser = argparse.ArgumentParser()
    inspect_cmd.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)

    class Env:
        color = False
        stdout = io.StringIO()

        def out(self, text=""):
            self.stdout.write(text + "\n")

        def err(self, text):
            pass

    env = Env()
    status = args.run(args, env)
    return env.stdout.getvalue(), status


def test_cli_picks_the_first_client_host_and_one_connection():
    out, status = run_cli("inspect", str(RUNS / "tls12-resumption-gnutls"), "--conn", "1")
    assert status == 0
    assert "connection 1:" in out and "connection 0:" not in out
    assert "session ticket resumption" in out


@pytest.mark.parametrize("argv,message", [
    (["--host", "nobody"], "no captures of host 'nobody'"),
    (["--conn", "7"], "--conn 7: client has 1 connection(s)"),
    (["--conn", "-1"], "--conn must be 0 or more"),
    (["--keylog", "/nonexistent"], "no such file"),
])
def test_cli_bad_input_is_an_input_error(argv, message):
    with pytest.raises(InputError, match=re.escape(message)):
        run_cli("inspect", str(RUNS / "tls13-openssl"), *argv)


def test_cli_missing_target():
    with pytest.raises(InputError, match="no such run directory or capture"):
        run_cli("inspect", "/nonexistent/run")


def test_cli_pcap_finds_its_sibling_key_log():
    out, status = run_cli("inspect", str(PCAPS / "tls13.pcap"))
    assert status == 0 and "all 11 encrypted records decrypted" in out


def test_json_of_compare_round_trips():
    out, status = run_cli("inspect", str(RUNS / "tls13-openssl"), "--compare", "--json")
    (cmp,) = json.loads(out)
    assert status == 0 and cmp["vantages"] == ["client:eth0", "server:eth0"]
    target = open_target(str(RUNS / "tls13-openssl"))
    assert cmp == json.loads(json.dumps(to_jsonable(compare_target(target, "client")[0])))
