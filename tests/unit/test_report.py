"""lab.report: the self-contained HTML report, its ladder SVG, and that it
renders in headless Chromium."""
from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from lab.analysis import read_pcap, split_connections
from lab.inspect.compare import compare
from lab.inspect.target import host_views, open_target
from lab.report import write_report
from lab.report.ladder import ladder_svg

RUNS = Path(__file__).resolve().parents[1] / "data" / "runs"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
PKT = re.compile(r'<g class="pkt"')


@pytest.fixture(params=["tls12-rsa-openssl", "tls13-openssl"])
def run_dir(request, tmp_path) -> Path:
    """A copy: the report is written into the run directory."""
    dest = tmp_path / request.param
    shutil.copytree(RUNS / request.param, dest)
    return dest


def packets_of_connection(pcap: Path) -> int:
    (conn,) = split_connections(read_pcap(str(pcap)))
    return len(conn.packets)


def test_report_is_self_contained_with_one_arrow_per_packet(run_dir):
    path = write_report(str(run_dir))
    assert path == os.path.join(str(run_dir), "report.html")
    html = Path(path).read_text()
    client = packets_of_connection(run_dir / "captures" / "client-eth0.pcap")
    assert client == packets_of_connection(run_dir / "captures" / "server-eth0.pcap")
    assert len(PKT.findall(html)) == client
    # Nothing to fetch: no scripts, stylesheets, images or links elsewhere.
    assert not re.search(r"<script|<link|<img|<iframe|@import|url\(http", html)
    assert not re.search(r'(src|href)="(https?:)?//', html)
    for text in ("PASS", "Expectations", "2.1 ClientHello", "Links", "Captures"):
        assert text in html


def test_report_lists_expectations_and_link_figures(run_dir):
    html = Path(write_report(str(run_dir))).read_text()
    result = json.loads((run_dir / "result.json").read_text())
    passed = sum(x["passed"] for x in result["expectations"])
    assert html.count('<span class="pass">PASS</span>') == passed + 1  # + the verdict
    assert "rtt ms" in html and "kernel drops" in html


def test_ladder_marks_a_segment_lost_between_hosts():
    target = open_target(str(RUNS / "tls12-rsa-openssl"))
    client, server = host_views(target, "client")[0], host_views(target, "server")[0]
    # Take the ClientHello out of the server's capture: lost on the way there.
    n = next(i for i, r in enumerate(server.rows) if r.from_client and r.payload_len)
    cut = replace(server, rows=server.rows[:n] + server.rows[n + 1:])
    svg = ladder_svg(compare([client, cut]), "client", "server")
    assert len(PKT.findall(svg)) == len(client.rows)
    assert svg.count('data-lost="1"') == 1


def test_run_without_captures_still_gets_its_expectations(tmp_path):
    shutil.copy(RUNS / "tls13-openssl" / "result.json", tmp_path)
    html = Path(write_report(str(tmp_path))).read_text()
    assert "Expectations" in html and not PKT.search(html)


def test_missing_run_dir_is_an_input_error(tmp_path):
    from lab.errors import InputError

    with pytest.raises(InputError):
        write_report(str(tmp_path / "missing"))


def chromium(*args: str, tmp_path: Path) -> subprocess.CompletedProcess:
    profile = tmp_path / "profile"
    profile.mkdir(exist_ok=True)
    argv = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", f"--user-data-dir={profile}", *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120)


@needs_chromium
def test_report_renders_in_headless_chromium(run_dir, tmp_path):
    path = write_report(str(run_dir))
    url = Path(path).resolve().as_uri()
    shot = tmp_path / "out.png"
    chromium(f"--screenshot={shot}", "--window-size=1400,2000", url, tmp_path=tmp_path)
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", png[16:24]) == (1400, 2000)
    assert len(png) > 20_000  # a blank page compresses to a few KB

    dom = chromium("--dump-dom", url, tmp_path=tmp_path).stdout
    assert "<svg" in dom and "Expectations" in dom
    client = packets_of_connection(run_dir / "captures" / "client-eth0.pcap")
    assert len(PKT.findall(dom)) == client
