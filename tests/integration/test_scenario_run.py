"""Scenario runs end to end: verdicts, exit codes, captures that agree."""
import json
import os

import pytest

from lab.analysis import read_pcap, split_connections

pytestmark = pytest.mark.integration
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))

WRONG = """
name: wrong-expectation
topology: {topology}
pki:
  server: {{names: [server.lab]}}
servers:
  web: {{host: server, impl: openssl, port: 443, versions: ["1.3"]}}
clients:
  c1: {{host: client, impl: openssl, server: web, versions: ["1.3"]}}
expect:
  c1:
    version: "1.2"
    handshake: complete
"""


def _latest_run(out):
    runs = sorted(os.listdir(out))
    assert runs
    return os.path.join(out, runs[-1])


def test_wrong_expectation_fails_with_exit_1_and_shows_both_values(clean_system, tlslab_cmd, tmp_path):
    scenario = tmp_path / "wrong.yaml"
    scenario.write_text(WRONG.format(topology=os.path.join(ROOT, "topologies", "lan.yaml")))
    out = tmp_path / "runs"
    result = tlslab_cmd("run", "--out", str(out), str(scenario))
    assert result.returncode == 1, result.stderr
    assert "FAIL c1.version = TLSv1.3  (expected TLSv1.2, observed TLSv1.3)" in result.stdout
    assert "PASS c1.handshake = complete" in result.stdout
    with open(os.path.join(_latest_run(out), "result.json")) as fh:
        data = json.load(fh)
    assert data["verdict"] == "fail"
    failed = [e for e in data["expectations"] if not e["passed"]]
    assert failed == [{"subject": "c1", "name": "version", "expected": "TLSv1.2",
                       "observed": "TLSv1.3", "passed": False}]


BAD_SCENARIOS = ["scenario_unknown_host.yaml", "scenario_bad_impair.yaml", "scenario_bad_step.yaml",
                 "scenario_missing_topology_file.yaml", "scenario_unknown_impl.yaml"]


@pytest.mark.parametrize("name", BAD_SCENARIOS)
def test_bad_scenario_exits_2_and_leaves_nothing(name, clean_system, tlslab_cmd, tmp_path):
    out = tmp_path / "runs"
    result = tlslab_cmd("run", "--out", str(out), f"tests/data/bad/{name}")
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"tlslab: tests/data/bad/{name}:")
    assert not out.exists()


def test_client_and_server_captures_agree_packet_for_packet(clean_system, tlslab_cmd, tmp_path):
    out = tmp_path / "runs"
    result = tlslab_cmd("run", "--out", str(out), "scenarios/tls12-rsa.yaml", "-k", "client=openssl")
    assert result.returncode == 0, result.stdout + result.stderr
    run = _latest_run(out)
    with open(os.path.join(run, "result.json")) as fh:
        data = json.load(fh)
    assert all(c["dropped"] == 0 for c in data["captures"])
    conn = data["connections"][0]
    port = conn["tcp"]["client_port"]

    def segments(host):
        packets = read_pcap(os.path.join(run, "captures", f"{host}-eth0.pcap"))
        mine = [c for c in split_connections(packets) if c.client_port == port]
        assert len(mine) == 1
        return [(p.src, p.dst, p.flags, p.seq, p.ack, p.payload_len) for p in mine[0].packets]

    client, server = segments("client"), segments("server")
    assert len(client) > 10
    # Per direction, in order: segments that cross on the wire are seen in a
    # different interleaving at each end, but each direction's sequence is the same.
    for src in ("10.0.0.1", "10.0.0.2"):
        assert [p for p in client if p[0] == src] == [p for p in server if p[0] == src]
    assert sorted(client) == sorted(server)
    # The mitm host on the same switch saw none of it: a bridge forwards unicast only to its port.
    mitm = read_pcap(os.path.join(run, "captures", "mitm-eth0.pcap"))
    assert not [p for p in mitm if p.sport == port or p.dport == port]


def test_decrypting_pcapng_shows_the_request(clean_system, tlslab_cmd, tmp_path):
    import shutil
    import subprocess

    if shutil.which("tshark") is None:
        pytest.skip("tshark missing")
    out = tmp_path / "runs"
    result = tlslab_cmd("run", "--out", str(out), "scenarios/tls13-handshake.yaml",
                        "-k", "client=gnutls,server=openssl")
    assert result.returncode == 0, result.stdout + result.stderr
    pcapng = os.path.join(_latest_run(out), "captures", "server.pcapng")
    # No key log option given: the secrets travel inside the pcapng.
    fields = subprocess.run(["tshark", "-r", pcapng, "-Y", "http.request", "-T", "fields",
                             "-e", "http.request.uri"], capture_output=True, text=True, check=True)
    assert fields.stdout.split() == ["/index.html"]


def test_retransmission_counts_equal_tsharks_on_the_lossy_scenario(clean_system, tlslab_cmd, tmp_path):
    """The honest-verdict check: per connection and per capture, tlslab's
    retransmission and duplicate-ACK counts equal tshark's analysis flags."""
    import shutil
    import subprocess
    from collections import Counter

    if shutil.which("tshark") is None:
        pytest.skip("tshark missing")
    out = tmp_path / "runs"
    result = tlslab_cmd("run", "--out", str(out), "scenarios/lossy-link.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    run = _latest_run(out)
    with open(os.path.join(run, "result.json")) as fh:
        data = json.load(fh)
    total = 0
    for host, side in (("client", "client_capture"), ("server", "server_capture")):
        pcap = os.path.join(run, "captures", f"{host}-eth0.pcap")
        fields = subprocess.run(
            ["tshark", "-r", pcap, "-Y", "tcp.port==443", "-T", "fields", "-e", "tcp.srcport",
             "-e", "tcp.dstport", "-e", "tcp.analysis.retransmission", "-e",
             "tcp.analysis.duplicate_ack"], capture_output=True, text=True, check=True).stdout
        rtx, dup = Counter(), Counter()
        for line in fields.splitlines():
            sport, dport, is_rtx, is_dup = (line.split("\t") + ["", ""])[:4]
            client_port = int(sport) if int(dport) == 443 else int(dport)
            rtx[client_port] += bool(is_rtx)
            dup[client_port] += bool(is_dup)
        for conn in data["connections"]:
            port = conn["tcp"]["client_port"]
            assert conn["tcp"][side]["retransmissions"] == rtx[port], (host, port)
            assert conn["tcp"][side]["duplicate_acks"] == dup[port], (host, port)
            total += rtx[port]
    assert total > 0, "10% loss over 8 connections should force retransmissions"
