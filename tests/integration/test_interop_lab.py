"""A reduced interop matrix inside a real lab (servers on `server`, clients on
`client`), checked against the capture: tshark, given only one cell's client
key log, must find that cell's handshake, the suite it negotiated, and the
exact application data both ways; a rejecting client's alert must be on the wire.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from lab.config.topology import load_topology
from lab.net.capture import HostCaptures
from lab.net.lab import Lab
from lab.tls import http_response
from lab.tls.interop import expand
from lab.tls.interop_lab import run_in_lab
from lab.tls.interop_plan import plan_slots
from lab.tls.interop_spoof import expand_spoofs
from lab.tls.names import alert_code, suite_by_code
from lab.tls.roles import DEFAULT_REQUEST, DEFAULT_RESPONSE
from lab.tls.variants import TLS13_SUITES

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(any(shutil.which(t) is None for t in
                           ("openssl", "gnutls-serv", "ss", "tcpdump", "tshark")),
                       reason="needs openssl, gnutls-bin, iproute2, tcpdump and tshark"),
]

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = ["openssl", "python"]
SERVERS = ["gnutls", "python"]
SPOOF = "wrong-host"


def tshark(pcap: str, ports: list[int], *args: str, keylog: Path | None = None) -> str:
    argv = ["tshark", "-r", pcap, *(a for p in ports for a in ("-d", f"tcp.port=={p},tls"))]
    if keylog:
        argv += ["-o", f"tls.keylog_file:{keylog}"]
    done = subprocess.run([*argv, *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def client_random(keylog: Path) -> str:
    """Every line of an NSS key log names the ClientHello random it belongs to."""
    randoms = {line.split()[1] for line in keylog.read_text().splitlines()
               if line and not line.startswith("#")}
    assert len(randoms) == 1, f"{keylog}: expected one connection, got {randoms}"
    return randoms.pop()


def streams_by_random(pcap: str, ports: list[int]) -> dict[str, int]:
    out = tshark(pcap, ports, "-Y", "tls.handshake.type == 1", "-T", "fields",
                 "-e", "tls.handshake.random", "-e", "tcp.stream")
    return {r: int(s) for r, s in (line.split("\t") for line in out.splitlines())}


def suites_by_stream(pcap: str, ports: list[int]) -> dict[int, str]:
    out = tshark(pcap, ports, "-Y", "tls.handshake.type == 2", "-T", "fields",
                 "-e", "tcp.stream", "-e", "tls.handshake.ciphersuite")
    return {int(s): suite_by_code(int(c, 16)).iana for s, c in (line.split("\t") for line in out.splitlines())}


def decrypted(pcap: str, ports: list[int], keylog: Path, stream: int, server: str) -> tuple[bytes, bytes]:
    """(client->server, server->client) plaintext of one stream. In follow
    output untabbed lines come from "Node 0", tabbed ones from the other side."""
    out = tshark(pcap, ports, "-q", "-z", f"follow,tls,raw,{stream}", keylog=keylog)
    node0 = re.search(r"^Node 0: (\S+)$", out, re.M).group(1)
    from_node0, from_other = b"", b""
    for line in out.split("Node 1:", 1)[1].splitlines()[1:]:
        if line.startswith("====") or not line.strip():
            continue
        if line.startswith("\t"):
            from_other += bytes.fromhex(line.strip())
        else:
            from_node0 += bytes.fromhex(line.strip())
    return (from_other, from_node0) if node0.startswith(server + ":") else (from_node0, from_other)


def alerts(pcap: str, ports: list[int], keylog: Path, stream: int) -> list[int]:
    out = tshark(pcap, ports, "-Y", f"tcp.stream == {stream} && tls.alert_message", "-T", "fields",
                 "-e", "tls.alert_message.desc", keylog=keylog)
    return [int(v) for line in out.splitlines() for v in line.split(",") if v]


def test_reduced_matrix_in_lab_matches_the_capture(clean_system, tmp_path):
    topology = load_topology(str(ROOT / "topologies" / "lan.yaml"))
    cells = expand(CLIENTS, SERVERS, ["tls13"])
    spoofs = expand_spoofs(CLIENTS, [SPOOF])
    ports = [s.port for s in plan_slots(cells, spoofs)]
    run = tmp_path / "run"
    started = time.monotonic()
    with Lab(topology, run_dir=str(run)) as lab:
        server_ip = lab.host("server").address
        captures = HostCaptures(lab, str(tmp_path / "captures"), hosts=["client"])
        captures.start()
        try:
            results, spoof_results = run_in_lab(lab, cells, spoofs, run, workers=2, timeout=5.0)
        finally:
            time.sleep(0.05)  # the last FIN/ACKs
            [stats] = captures.stop()
    assert time.monotonic() - started < 60
    assert stats.dropped == 0 and stats.captured > 0
    pcap = stats.path
    streams, suites = streams_by_random(pcap, ports), suites_by_stream(pcap, ports)

    assert [(r.cell.slug, r.status) for r in results] == [(c.slug, "ok") for c in cells], \
        [r.detail for r in results]
    for r in results:
        [out] = r.client
        assert out.connected and out.version == "TLSv1.3" and out.cipher in TLS13_SUITES
        [seen] = r.server  # gnutls-serv and the python agent both report each connection
        assert (seen.connected, seen.version, seen.cipher) == (True, out.version, out.cipher)
        keylog = run / "cells" / r.cell.slug / "client.keylog"
        stream = streams[client_random(keylog)]
        assert suites[stream] == out.cipher
        up, down = decrypted(pcap, ports, keylog, stream, server_ip)
        assert up == DEFAULT_REQUEST
        assert down == http_response(DEFAULT_RESPONSE)

    assert [(r.cell.slug, r.status, r.verdict) for r in spoof_results] == \
        [(c.slug, "ok", "rejected") for c in spoofs]
    for r in spoof_results:
        [out] = r.client
        assert not out.connected and out.error_class == "verify_failed"
        assert out.alert_sent == "bad_certificate"
        keylog = run / "cells" / r.cell.slug / "client.keylog"
        stream = streams[client_random(keylog)]
        assert alerts(pcap, ports, keylog, stream) == [alert_code(out.alert_sent)]
        assert decrypted(pcap, ports, keylog, stream, server_ip) == (b"", b"")
