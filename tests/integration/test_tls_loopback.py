"""Every TLS implementation against every other, over 127.0.0.1 only.

Runs real processes through LocalRunner; each test's runner kills what it
started (by handle) at teardown. Certificates come from lab.pki.
"""
from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from lab.net.runner import LocalRunner
from lab.pki.issue import client_cert, common_name, general_name, leaf, root_ca, server_cert
from lab.pki.store import write_credential
from lab.tls import ClientSpec, ServerSpec, get, http_response, variant
from lab.tls.interop import Cell, Credentials, run_cell, unsupported
from lab.tls.roles import DEFAULT_REQUEST, DEFAULT_RESPONSE

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(any(shutil.which(t) is None for t in
                           ("openssl", "gnutls-cli", "gnutls-serv", "ss", "tcpdump", "tshark")),
                       reason="needs openssl, gnutls-bin, iproute2, tcpdump and tshark"),
]

LOOPBACK = "127.0.0.1"
CLIENTS = ["openssl", "gnutls", "python", "tlslite", "scapy"]
SERVERS = ["openssl", "gnutls", "python", "tlslite"]
VARIANTS = ["tls12-rsa", "tls12-ecdhe", "tls13", "tls12-resume", "tls13-resume", "mtls"]
# Refusals we know about; any other refusal fails the test.
EXPECTED_REFUSALS = {("scapy", "tls12-resume"): "resumes only TLS 1.3"}
TIMEOUT = 5.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    ca = root_ca()
    good = write_credential(d, "server", server_cert(ca, "localhost", ("localhost", LOOPBACK)))
    wrong = write_credential(d, "wronghost", server_cert(ca, "other.example"))
    selfsigned = write_credential(d, "selfsigned", leaf(None, common_name("localhost"),
                                                         [general_name("localhost")]))
    client = write_credential(d, "client", client_cert(ca, "tlslab client"))
    return {"creds": Credentials(str(good.chain), str(good.key), str(good.ca_bundle),
                                 str(client.chain), str(client.key)),
            "wronghost": wrong, "selfsigned": selfsigned}


@pytest.fixture
def runner():
    r = LocalRunner(name="lo")
    yield r
    r.close()


def _logs(path: Path) -> str:
    return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-1500:]}"
                     for p in sorted(path.rglob("*.log")))


# --- the matrix ------------------------------------------------------------------
@pytest.mark.parametrize("variant_name", VARIANTS)
@pytest.mark.parametrize("server", SERVERS)
@pytest.mark.parametrize("client", CLIENTS)
def test_matrix_cell(client, server, variant_name, pki, runner, tmp_path):
    cell = Cell(client, server, variant_name)
    why = unsupported(cell)
    expected = EXPECTED_REFUSALS.get((client, variant_name))
    if expected or why:
        assert why and expected and expected in why, f"unexpected refusal: {why}"
        return
    v = variant(variant_name)
    result = run_cell(cell, pki["creds"], free_port(), str(tmp_path), runner, TIMEOUT)
    assert result.status == "ok", f"{result.detail}\n{_logs(tmp_path)}"
    last = result.client[-1]
    assert last.version == v.expect_version and last.cipher in v.expect_ciphers
    assert last.received_sha256 == _sha(http_response(DEFAULT_RESPONSE))
    if v.resume:
        assert result.client[0].resumed is False and last.resumed is True
    if result.server:  # the server's own view, where it reports one
        seen = result.server[-1]
        assert seen.connected and seen.version == last.version
        assert seen.cipher in (last.cipher, None)  # gnutls-serv may not name a resumed TLS 1.2 suite
        if v.resume:
            assert seen.resumed is True
        if v.mutual and server in ("python", "tlslite"):
            assert seen.peer_subject == "CN=tlslab client"


def _sha(data: bytes) -> str:
    import hashlib
    return hashlib.sha256(data).hexdigest()


# --- certificate verification -------------------------------------------------------
# The alert each client was observed to send when it rejects the certificate.
REJECT_ALERTS = {
    "openssl": {"selfsigned": "unknown_ca", "wronghost": "bad_certificate"},
    "python": {"selfsigned": "unknown_ca", "wronghost": "bad_certificate"},
    "gnutls": {"selfsigned": "bad_certificate", "wronghost": "bad_certificate"},
    "tlslite": {"selfsigned": "unknown_ca", "wronghost": "bad_certificate"},
    "scapy": {"selfsigned": "certificate_unknown", "wronghost": "certificate_unknown"},
}


def _serve(runner, tmp_path, paths, **kw):
    spec = ServerSpec(port=free_port(), cert=str(paths.chain), key=str(paths.key), **kw)
    handle = get("python").start_server(runner, spec, str(tmp_path))
    handle.wait_ready()
    return spec, handle


@pytest.mark.parametrize("case", ["selfsigned", "wronghost"])
@pytest.mark.parametrize("client", CLIENTS)
def test_verification_rejects(client, case, pki, runner, tmp_path):
    spec, handle = _serve(runner, tmp_path, pki[case], versions=("1.3",))
    outs = get(client).run_client(runner, ClientSpec(
        address=LOOPBACK, port=spec.port, sni="localhost", ca=pki["creds"].ca, versions=("1.3",)),
        str(tmp_path), TIMEOUT)
    handle.stop()
    [out] = outs
    assert not out.connected and out.error_class == "verify_failed", _logs(tmp_path)
    assert out.alert_sent == REJECT_ALERTS[client][case]
    assert out.error_message and out.bytes_sent == 0
    seen = handle.outcomes()[-1]
    if client == "scapy":
        # scapy 2.8 sends its TLS 1.3 alert as a 3-byte type-23 record with no
        # AEAD tag, so the server cannot decrypt it.
        assert seen.alert_received is None and seen.alert_sent == "bad_record_mac"
    else:  # the server heard the alert the client says it sent
        assert seen.alert_received == out.alert_sent


@pytest.mark.parametrize("client", CLIENTS)
def test_verification_off_accepts_self_signed(client, pki, runner, tmp_path):
    spec, handle = _serve(runner, tmp_path, pki["selfsigned"], versions=("1.3",))
    [out] = get(client).run_client(runner, ClientSpec(
        address=LOOPBACK, port=spec.port, sni="localhost", verify=False, versions=("1.3",)),
        str(tmp_path), TIMEOUT)
    handle.stop()
    assert out.connected, _logs(tmp_path)
    assert out.peer_subject == out.peer_issuer == "CN=localhost"
    assert out.bytes_received == len(http_response(DEFAULT_RESPONSE))


# --- key logs ----------------------------------------------------------------------------
class Capture:
    """tcpdump on lo for one port; --immediate-mode so nothing waits in the ring."""

    def __init__(self, runner, path: Path, port: int):
        self.path, self.err = path, path.with_suffix(".err")
        with open(self.err, "wb") as err:
            self.proc = runner.popen(["tcpdump", "-i", "lo", "-U", "--immediate-mode", "-w", str(path),
                                      f"tcp port {port}"], stdout=subprocess.DEVNULL, stderr=err)
        deadline = time.monotonic() + 5
        while b"listening on" not in self.err.read_bytes():
            assert time.monotonic() < deadline and self.proc.poll() is None, self.err.read_text()
            time.sleep(0.05)

    def stop(self):
        time.sleep(0.2)  # let the last FIN reach the capture
        self.proc.terminate()
        self.proc.wait(5)


def decrypted(pcap: Path, keylog: str, port: int) -> tuple[bytes, bytes]:
    """(client->server, server->client) application data, as tshark decrypts it.
    In follow output, untabbed lines come from "Node 0", which is whichever
    side sent the first decrypted data: the server in TLS 1.3 (its tickets)."""
    done = subprocess.run(["tshark", "-r", str(pcap), "-o", f"tls.keylog_file:{keylog}",
                           "-d", f"tcp.port=={port},tls", "-q", "-z", "follow,tls,raw,0"],
                          capture_output=True, text=True, timeout=30)
    node0 = re.search(r"^Node 0: .*:(\d+)$", done.stdout, re.M)
    from_node0, from_node1 = b"", b""
    for line in done.stdout.split("Node 1:", 1)[-1].splitlines()[1:]:
        if line.startswith("====") or not line.strip():
            continue
        if line.startswith("\t"):
            from_node1 += bytes.fromhex(line.strip())
        else:
            from_node0 += bytes.fromhex(line.strip())
    server_is_node0 = bool(node0) and int(node0.group(1)) == port
    return (from_node1, from_node0) if server_is_node0 else (from_node0, from_node1)


KEYLOG_CASES = ([("client", c) for c in CLIENTS] + [("server", s) for s in SERVERS])


@pytest.mark.parametrize("version", ["1.2", "1.3"])
@pytest.mark.parametrize("role, impl", KEYLOG_CASES)
def test_key_log_decrypts_capture(role, impl, version, pki, runner, tmp_path):
    creds, port = pki["creds"], free_port()
    keylog = str(tmp_path / f"{impl}.keylog")
    cap = Capture(runner, tmp_path / "cap.pcap", port)
    server_impl, client_impl = ("python", impl) if role == "client" else (impl, "python")
    handle = get(server_impl).start_server(runner, ServerSpec(
        port=port, cert=creds.cert, key=creds.key, versions=(version,),
        keylog=keylog if role == "server" else None), str(tmp_path))
    try:
        handle.wait_ready()
        [out] = get(client_impl).run_client(runner, ClientSpec(
            address=LOOPBACK, port=port, sni="localhost", ca=creds.ca, versions=(version,),
            keylog=keylog if role == "client" else None), str(tmp_path), TIMEOUT)
    finally:
        handle.stop()
        cap.stop()
    assert out.connected, _logs(tmp_path)
    up, down = decrypted(tmp_path / "cap.pcap", keylog, port)
    assert up == DEFAULT_REQUEST, Path(keylog).read_text() if Path(keylog).exists() else "no key log"
    assert down == http_response(DEFAULT_RESPONSE)


# --- groups ---------------------------------------------------------------------------------
@pytest.mark.parametrize("role, impl", KEYLOG_CASES)
def test_group_selection(role, impl, pki, runner, tmp_path):
    """A group named on one side is the one negotiated and reported."""
    creds, port = pki["creds"], free_port()
    server_impl, client_impl = ("python", impl) if role == "client" else (impl, "python")
    handle = get(server_impl).start_server(runner, ServerSpec(
        port=port, cert=creds.cert, key=creds.key, versions=("1.3",), groups=("secp384r1",)),
        str(tmp_path))
    try:
        handle.wait_ready()
        [out] = get(client_impl).run_client(runner, ClientSpec(
            address=LOOPBACK, port=port, sni="localhost", ca=creds.ca, versions=("1.3",),
            groups=("secp384r1",)), str(tmp_path), TIMEOUT)
    finally:
        handle.stop()
    assert out.connected and out.group == "secp384r1", _logs(tmp_path)
    seen = handle.outcomes()
    if seen:
        assert seen[-1].group == "secp384r1"
