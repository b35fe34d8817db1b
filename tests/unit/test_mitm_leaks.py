"""lab.mitm.leaks: what an eavesdropper learns, from committed captures
(tests/data/mitm, made by make_mitm_pcaps.py)."""
from __future__ import annotations

from pathlib import Path

import pytest

from lab.analysis.pcap import read_pcap
from lab.mitm.leaks import what_leaks

DATA = Path(__file__).resolve().parents[1] / "data" / "mitm"
REQUEST = b"GET /index.html HTTP/1.0"


def leaks(name: str, search=()) -> dict:
    return what_leaks(read_pcap(str(DATA / f"{name}.pcap")), search)


def test_tls12_shows_the_certificate_sni_and_suite_but_no_plaintext():
    out = leaks("tls12", (REQUEST,))
    [conn] = out["tls"]
    assert conn["client"] == "10.0.0.1:40001" and conn["server"] == "10.0.0.2:443"
    assert conn["sni"] == "server.tlslab"
    assert conn["version"] == "TLS 1.2" and conn["cipher_suite"].startswith("TLS_ECDHE_RSA_WITH")
    assert conn["certificate_visible"] and not conn["handshake_encrypted"]
    [cert] = conn["certificates"]
    assert cert["subject"] == "CN=server.tlslab" and cert["issuer"] == "CN=tlslab root CA"
    assert cert["sans"] == ["DNS:server.tlslab"]
    assert not out["plaintext_seen"] and out["search_hits"] == [] and out["plaintext_streams"] == []


def test_tls13_hides_the_certificate_but_not_sni_version_or_sizes():
    out = leaks("tls13", (REQUEST,))
    [conn] = out["tls"]
    assert conn["sni"] == "server.tlslab" and conn["version"] == "TLS 1.3"
    assert conn["cipher_suite"] == "TLS_AES_256_GCM_SHA384"
    assert conn["handshake_encrypted"] and not conn["certificate_visible"]
    assert conn["certificates"] == []
    assert not out["plaintext_seen"]
    # Sizes still leak: the request is 42 bytes, so its record is 42 + 1 + 16.
    assert conn["app_data_sizes"]["client"] == [42 + 1 + 16]


@pytest.mark.parametrize("name", ["tls12", "tls13"])
def test_records_and_timing_are_reported(name):
    [conn] = leaks(name)["tls"]
    assert conn["records"][0] == {"from": "client", "type": "handshake",
                                  "length": conn["records"][0]["length"], "t_ms": 3.0}
    assert all(r["from"] in ("client", "server") for r in conn["records"])
    times = [r["t_ms"] for r in conn["records"]]
    assert times == sorted(times)
    timing = conn["timing"]
    assert 0 < timing["handshake_ms"] < timing["duration_ms"]


def test_plaintext_http_is_seen_and_found():
    out = leaks("plain", (REQUEST, b"not there"))
    assert out["tls"] == [] and out["plaintext_seen"]
    assert out["plaintext_streams"] == [{"client": "10.0.0.1:40003", "server": "10.0.0.2:80",
                                         "bytes": {"client": 42, "server": 57}}]
    assert [h["text"] for h in out["search_hits"]] == [REQUEST.decode()]
