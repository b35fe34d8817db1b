import pytest

from lab.errors import InputError
from lab.tls import Outcome
from lab.tls.interop import Cell, expand
from lab.tls.interop_lab import LockedRunner, _wrapper_lost_output
from lab.tls.interop_plan import RERUN_NOTE, plan_slots, select, split_reports
from lab.tls.interop_spoof import SpoofCell, expand_spoofs


def out(connected=True, version="TLSv1.3", error_class=None) -> Outcome:
    return Outcome(implementation="x", role="client", connected=connected, version=version,
                   error_class=error_class)


def test_slots_group_cells_by_server_variant_and_certificate_on_distinct_ports():
    cells = expand(["openssl", "python"], ["gnutls", "tlslite"], ["tls13", "mtls"])
    spoofs = expand_spoofs(["openssl", "python"], ["expired", "no-san"])
    slots = plan_slots(cells, spoofs, base_port=30000)
    assert [s.name for s in slots] == [
        "gnutls-tls13", "tlslite-tls13", "gnutls-mtls", "tlslite-mtls",
        "gnutls-spoof-expired", "gnutls-spoof-no-san"]
    assert [s.port for s in slots] == list(range(30000, 30006))
    assert slots[0].cells == (Cell("openssl", "gnutls", "tls13"), Cell("python", "gnutls", "tls13"))
    assert slots[-1].cells == (SpoofCell("openssl", "no-san"), SpoofCell("python", "no-san"))
    assert (slots[-1].variant, slots[-1].spoof) == ("tls13", "no-san")
    assert {c for s in slots for c in s.cells if isinstance(c, Cell)} == set(cells)


def test_ports_must_fit():
    with pytest.raises(InputError, match="outside 1..65535"):
        plan_slots(expand(["openssl"], ["gnutls"], ["tls13", "mtls"]), [], base_port=65535)


def test_select_by_slug_substring():
    cells = expand(["openssl", "python"], ["gnutls"], ["tls13", "tls13-resume"])
    assert [c.slug for c in select(cells, "python-to-gnutls-tls13")] == [
        "python-to-gnutls-tls13", "python-to-gnutls-tls13-resume"]
    assert select(cells, None) == cells and select(cells, "nothing") == []


def test_split_reports_gives_each_client_its_connections_in_order():
    a, b = [out()], [out(), out()]
    server = [out(), out(), out()]
    assert split_reports(server, [a, b]) == [server[:1], server[1:]]
    # a client that never reached the server has no share; a failed run none either
    assert split_reports(server[:2], [[out(False, None, "connect_failed")], None, b]) == [[], [], server[:2]]


def test_split_reports_refuses_to_guess():
    assert split_reports(None, [[out()]]) == [None]                    # server reports nothing
    assert split_reports([out()], [[out()], [out()]]) == [None, None]  # counts differ
    # counts agree, but a handshake the client completed is not the server's
    assert split_reports([out(False, None, "verify_failed"), out()], [[out()], [out()]]) == [None, None]
    assert split_reports([out(version="TLSv1.2")], [[out()]]) == [None]


def test_rerun_only_when_the_wrapper_lost_the_output(tmp_path):
    timeout = [out(False, None, "timeout")]
    assert not _wrapper_lost_output(timeout, tmp_path)
    (tmp_path / "client-gnutls-client-0.log").write_text("BrokenPipeError: [Errno 32] Broken pipe\n")
    assert _wrapper_lost_output(timeout, tmp_path)
    assert not _wrapper_lost_output([out()], tmp_path)
    assert "BrokenPipeError" in RERUN_NOTE


def test_locked_runner_delegates():
    import threading

    class Fake:
        name = "client"

        def popen(self, argv, **kw):
            return ("popen", argv, kw)

        def run(self, argv, **kw):
            return ("run", argv, kw)

    r = LockedRunner(Fake(), threading.Lock())
    assert r.name == "client"
    assert r.popen(["x"], cwd="/") == ("popen", ["x"], {"cwd": "/"})
    assert r.run(["y"]) == ("run", ["y"], {})
