import pytest

from lab.errors import InputError
from lab.pki import VARIANTS as CERT_VARIANTS
from lab.tls import Outcome
from lab.tls.interop_spoof import (ACCEPTED, FINDINGS, INCONCLUSIVE, REJECTED, SPOOFS, SpoofCell,
                                   expand_spoofs, judge_spoof, unsupported_spoof, verdict)


def out(**kw) -> Outcome:
    return Outcome(implementation="openssl", role="client", **kw)


def test_spoofs_are_every_pki_variant_a_client_must_reject():
    assert set(SPOOFS) == set(CERT_VARIANTS) - {"good", "trusted-ca"}
    assert "no-san" in SPOOFS and "weak-key" in SPOOFS


def test_expand_is_spoof_major_and_validates():
    cells = expand_spoofs(["openssl", "python"], ["expired", "no-san"])
    assert [c.slug for c in cells] == [
        "openssl-to-gnutls-spoof-expired", "python-to-gnutls-spoof-expired",
        "openssl-to-gnutls-spoof-no-san", "python-to-gnutls-spoof-no-san"]
    assert len(expand_spoofs(["scapy"])) == len(SPOOFS)
    with pytest.raises(InputError, match="unknown certificate variant"):
        expand_spoofs(["openssl"], ["forged"])
    with pytest.raises(InputError, match="unknown TLS implementation"):
        expand_spoofs(["boringssl"])


def test_every_client_can_play_a_spoof_cell():
    assert all(unsupported_spoof(SpoofCell(c, "expired")) is None
               for c in ("openssl", "gnutls", "python", "tlslite", "scapy"))


@pytest.mark.parametrize("outcomes, expected", [
    ([out(connected=True, version="TLSv1.3")], ACCEPTED),
    ([out(error_class="verify_failed", alert_sent="unknown_ca")], REJECTED),
    ([out(error_class="handshake_failed", alert_sent="decrypt_error")], REJECTED),  # s_client's bad signature
    ([out(error_class="alert_received", alert_received="internal_error")], INCONCLUSIVE),
    ([out(error_class="timeout")], INCONCLUSIVE),
    ([out(error_class="connect_failed")], INCONCLUSIVE),
    ([], INCONCLUSIVE),
])
def test_verdict_counts_only_the_clients_own_refusal(outcomes, expected):
    assert verdict(outcomes)[0] == expected


def test_judge_rejection_is_ok_and_acceptance_fails():
    cell = SpoofCell("openssl", "expired")
    assert judge_spoof(cell, [out(error_class="verify_failed", alert_sent="certificate_expired")])[:2] \
        == ("ok", REJECTED)
    status, seen, detail = judge_spoof(cell, [out(connected=True)])
    assert (status, seen) == ("fail", ACCEPTED) and detail.startswith("ACCEPTED a expired certificate")
    assert judge_spoof(cell, [out(error_class="timeout")])[0] == "fail"


def test_documented_findings_pass_only_while_they_reproduce():
    assert FINDINGS[("openssl", "no-san")].behaviour == ACCEPTED
    cell = SpoofCell("openssl", "no-san")
    status, seen, detail = judge_spoof(cell, [out(connected=True)])
    assert (status, seen) == ("finding", ACCEPTED) and "CN" in detail
    status, _, detail = judge_spoof(cell, [out(error_class="verify_failed", alert_sent="bad_certificate")])
    assert status == "fail" and "update lab.tls.interop_spoof.FINDINGS" in detail
    tlslite = SpoofCell("tlslite", "weak-key")
    assert judge_spoof(tlslite, [out(error_class="alert_received", alert_received="internal_error")])[0] \
        == "finding"
    assert judge_spoof(tlslite, [out(connected=True)])[0] == "fail"


def test_findings_name_known_clients_and_spoofs():
    for client, spoof in FINDINGS:
        assert spoof in SPOOFS and client in ("openssl", "gnutls", "python", "tlslite", "scapy")
