"""lab.analysis.walkthrough and summary: step labels, notes, per-connection numbers."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from lab.analysis import analyze_file, ladder, read_pcap, split_connections, to_jsonable
from lab.analysis import walkthrough as wt

PCAPS = Path(__file__).resolve().parents[1] / "data" / "pcaps"


def steps_of(name: str):
    (conn,) = split_connections(read_pcap(str(PCAPS / f"{name}.pcap")))
    return ladder(conn)


def numbers(steps) -> list[str]:
    return [s.step for s in steps]


def step(steps, number: str):
    return next(s for s in steps if s.step == number)


def test_tls12_rsa_ladder_order_and_notes():
    steps = steps_of("tls12_rsa")
    assert numbers(steps) == ["1.1", "1.2", "1.3", "2.1", "2.2", "2.3", "2.7", "2.5", "2.8",
                              "2.9", "", "2.10", "2.11", "3", "3", "close", "close", "close",
                              "close"]
    assert wt.N_SHD_ORDER in step(steps, "2.7").notes
    cke = step(steps, "2.5")
    assert wt.N_RSA_CKE in cke.notes and wt.N_MASTER in cke.notes
    assert "encrypted pre-master secret, 256 bytes" in cke.label
    assert step(steps, "2.3").label.startswith("2.3 Certificate: CN=server.tlslab.test")
    assert [s.index for s in steps] == sorted(s.index for s in steps)
    assert steps[0].rel_ms == 0 and all(s.rel_ms >= 0 for s in steps)


def test_tls12_ecdhe_key_exchange_notes():
    steps = steps_of("tls12_ecdhe")
    ske = next(s for s in steps if s.label.startswith("ServerKeyExchange"))
    assert ske.step == "" and ske.label.endswith("x25519") and wt.N_SKE in ske.notes
    assert wt.N_ECDHE_CKE in step(steps, "2.5").notes


def test_tls13_ladder_differs_from_the_walkthrough():
    steps = steps_of("tls13")
    assert "2.7" not in numbers(steps) and "2.5" not in numbers(steps)
    order = [n for n in numbers(steps) if n in ("2.9", "2.11")]
    assert order == ["2.11", "2.9"]
    assert wt.N_13_SERVER_FIRST in step(steps, "2.9").notes
    assert wt.N_13_LEGACY_CH in step(steps, "2.1").notes
    assert wt.N_13_LEGACY_SH in step(steps, "2.2").notes
    assert wt.N_13_CERT in step(steps, "2.3").notes
    assert wt.N_13_CCS in step(steps, "2.8").notes


def test_rejected_certificate_is_step_2_4():
    steps = steps_of("tls12_badcert")
    rejected = step(steps, "2.4")
    assert rejected.from_client and rejected.label.endswith("fatal alert unknown_ca")
    assert "2.5" not in numbers(steps)


def test_hello_retry_request_appears_between_two_client_hellos():
    labels = [s.label for s in steps_of("tls13_hrr")]
    hrr = next(i for i, label in enumerate(labels) if label.startswith("HelloRetryRequest"))
    hellos = [i for i, label in enumerate(labels) if label.startswith("2.1 ClientHello")]
    assert hellos[0] < hrr < hellos[1]


@pytest.mark.parametrize("name,version,trips", [
    ("tls12_rsa", "TLS 1.2", 3), ("tls12_ecdhe", "TLS 1.2", 3),
    ("tls13", "TLS 1.3", 2), ("tls13_hrr", "TLS 1.3", 3)])
def test_summary_round_trips_and_times(name, version, trips):
    (report,) = analyze_file(str(PCAPS / f"{name}.pcap"))
    s = report.summary
    assert (s.tls_version, s.round_trips_before_app_data) == (version, trips)
    assert 0 < s.tcp_handshake_rtt_ms < s.syn_to_handshake_complete_ms
    assert s.syn_to_handshake_complete_ms < s.time_to_first_app_byte_ms
    assert s.time_to_first_app_byte_ms < s.time_to_first_response_byte_ms


def test_summary_of_a_failed_handshake():
    (report,) = analyze_file(str(PCAPS / "tls13_badcert.pcap"))
    s = report.summary
    assert s.alerts == ("fatal unknown_ca",)
    assert s.syn_to_handshake_complete_ms is None and s.round_trips_before_app_data is None


@pytest.mark.parametrize("name", sorted(p.name for p in PCAPS.glob("*.pcap*")))
def test_reports_are_json_ready(name):
    reports = analyze_file(str(PCAPS / name))
    json.dumps(to_jsonable(reports))
    for r in reports:
        json.dumps(dataclasses.asdict(r.summary))  # asdict alone is enough for summaries
        (conn,) = [c for c in split_connections(read_pcap(str(PCAPS / name)))
                   if c.stream == r.tcp.stream]
        json.dumps([dataclasses.asdict(s) for s in ladder(conn)])
