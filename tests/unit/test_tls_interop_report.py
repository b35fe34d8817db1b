import json

from lab.tls import Outcome
from lab.tls.interop import Cell, CellResult
from lab.tls.interop_plan import RERUN_NOTE
from lab.tls.interop_report import (RunInfo, findings, matrix_grids, passed, render_document,
                                    render_tables, short_suite, spoof_grid, to_json)
from lab.tls.interop_spoof import SpoofCell, SpoofResult

AES256, AES128 = "TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256"


def ok(client, server, variant="tls13", cipher=AES256, group="x25519", **kw):
    o = Outcome(implementation=client, role="client", connected=True, version="TLSv1.3",
                cipher=cipher, group=group, bytes_received=10, **kw)
    return CellResult(Cell(client, server, variant), "ok", "", [o])


def spoof(client, name, status, verdict, **kw):
    o = Outcome(implementation=client, role="client", **kw)
    return SpoofResult(SpoofCell(client, name), status, verdict, "why", [o])


RESULTS = [ok("openssl", "gnutls"), ok("openssl", "python"), ok("scapy", "gnutls", cipher=AES128),
           ok("scapy", "python", cipher=AES128),
           CellResult(Cell("scapy", "gnutls", "tls12-resume"), "unsupported", "scapy client: no")]
SPOOFS = [spoof("openssl", "expired", "ok", "rejected", error_class="verify_failed",
                alert_sent="certificate_expired"),
          spoof("gnutls", "expired", "ok", "rejected", error_class="verify_failed",
                alert_sent="bad_certificate"),
          spoof("gnutls", "no-san", "finding", "accepted", connected=True),
          spoof("scapy", "issuer-not-ca", "fail", "accepted", connected=True)]


def test_passed_allows_findings_and_refusals_only():
    assert passed(RESULTS, SPOOFS[:3])
    assert not passed(RESULTS, SPOOFS)
    assert not passed([CellResult(Cell("a", "b", "tls13"), "error", "boom")], [])


def test_grids_show_every_cell_and_say_why_one_is_refused():
    text = matrix_grids(RESULTS)
    assert "### tls13: TLS 1.3" in text and "| client \\ server | gnutls | python |" in text
    assert "| **scapy** | ok AES_128_GCM_SHA256 | ok AES_128_GCM_SHA256 |" in text
    assert "unsupported: scapy client: no" in text
    grid = spoof_grid(SPOOFS)
    assert "| **expired** | rejected: certificate_expired | rejected: bad_certificate |  |" in grid
    assert "**ACCEPTED** (finding)" in grid and "**FAIL** **ACCEPTED**" in grid


def test_short_suite():
    assert short_suite("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256") == "ECDHE_RSA_AES_128_GCM_SHA256"
    assert short_suite(None) == "?"


def test_findings_list_where_implementations_differ():
    items = findings(RESULTS, SPOOFS)
    assert "**gnutls** accepted the **no-san** certificate: why." in items
    assert any(i.startswith("**FAIL** scapy-to-gnutls-spoof-issuer-not-ca") for i in items)
    assert ("Rejecting **expired**, clients send different alerts: certificate_expired (openssl); "
            "bad_certificate (gnutls).") in items
    assert ("**tls13**: the negotiated cipher suite differs by pair: TLS_AES_128_GCM_SHA256 "
            "(scapy -> *); TLS_AES_256_GCM_SHA384 (openssl -> *).") in items
    assert "Not run (scapy client: no): scapy-to-gnutls-tls12-resume." in items
    assert not any("key-exchange group" in i for i in items)  # all x25519


def test_findings_name_cells_that_were_run_twice():
    again = ok("gnutls", "python")
    again.client[0].notes.append(RERUN_NOTE)
    assert any(i.startswith("Run a second time") and "gnutls-to-python-tls13" in i
               for i in findings([again], []))


def test_document_says_how_to_reproduce_and_what_played():
    info = RunInfo(command="sudo .venv/bin/tlslab interop --topology topologies/lan.yaml",
                   topology="lan", server_host="server", client_host="client", elapsed=12.3,
                   date="2026-01-01 00:00 UTC", versions=(("openssl", "OpenSSL 3.0.1"),))
    doc = render_document(info, RESULTS, SPOOFS[:3])
    assert doc.startswith("# TLS interoperability\n")
    assert "```sh\nsudo .venv/bin/tlslab interop --topology topologies/lan.yaml\n```" in doc
    assert "- openssl: OpenSSL 3.0.1\n" in doc and "every supported cell behaved as expected" in doc
    assert "## Findings" in doc and "<details><summary>Every matrix cell</summary>" in doc
    assert "did NOT behave" in render_document(info, RESULTS, SPOOFS)
    assert render_tables([], []).strip() == "## Findings\n\nNone."


def test_json_round_trips_and_marks_documented_findings():
    data = json.loads(json.dumps(to_json(RESULTS, SPOOFS)))
    assert data["passed"] is False
    assert data["matrix"][0]["cell"] == "openssl-to-gnutls-tls13"
    assert data["matrix"][0]["client_outcomes"][0]["cipher"] == AES256
    assert data["matrix"][0]["server_outcomes"] is None
    by_cell = {s["cell"]: s for s in data["spoofs"]}
    assert by_cell["gnutls-to-gnutls-spoof-no-san"]["documented"] is True
    assert by_cell["scapy-to-gnutls-spoof-issuer-not-ca"]["documented"] is True
    assert by_cell["openssl-to-gnutls-spoof-expired"]["documented"] is False


def test_a_client_that_reported_nothing_is_shown_not_crashed_on():
    silent = SpoofResult(SpoofCell("tlslite", "expired"), "fail", "inconclusive", "nothing", [])
    assert "inconclusive: no report" in spoof_grid([silent])
