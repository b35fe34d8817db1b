"""Scenario files: matrix expansion, defaults, and file:line errors."""
import io
import os

import pytest

from lab.cli.main import Environment, main
from lab.errors import InputError
from lab.scenario.loader import load_scenarios
from lab.scenario.model import Range

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
BAD = os.path.join(ROOT, "tests", "data", "bad")
SCENARIOS = os.path.join(ROOT, "scenarios")

BAD_SCENARIOS = {
    "scenario_unknown_key.yaml": (7, "unknown key 'expectations'"),
    "scenario_missing_topology_file.yaml": (2, "topology file 'nowhere.yaml' not found"),
    "scenario_unknown_host.yaml": (6, "no host 'laptop'"),
    "scenario_unknown_impl.yaml": (6, "unknown TLS implementation 'boringssl'"),
    "scenario_unknown_server.yaml": (6, "no server 'mail'"),
    "scenario_bad_expect.yaml": (8, "handshake must be 'complete' or 'failed'"),
    "scenario_bad_range.yaml": (8, "runs backwards"),
    "scenario_bad_duration.yaml": (8, "bad duration 'soon'"),
    "scenario_bad_matrix_var.yaml": (6, "'${impl}' is not a matrix variable"),
    "scenario_bad_variant.yaml": (4, "unknown certificate variant 'forged'"),
    "scenario_bad_step.yaml": (8, "'run: c2' names no client"),
    "scenario_bad_impair.yaml": (5, "is negative"),
    "scenario_unknown_link.yaml": (4, "no link between client:eth0 and server:eth0"),
    "scenario_no_clients.yaml": (5, "clients is empty"),
}


@pytest.mark.parametrize("name", sorted(BAD_SCENARIOS))
def test_bad_scenario_names_file_and_line(name):
    line, fragment = BAD_SCENARIOS[name]
    path = os.path.join(BAD, name)
    with pytest.raises(InputError) as info:
        load_scenarios(path)
    assert info.value.where.file == path and info.value.where.line == line, str(info.value)
    assert fragment in info.value.message
    err = io.StringIO()
    assert main(["validate", path], Environment(stdout=io.StringIO(), stderr=err)) == 2
    assert len(err.getvalue().splitlines()) == 1


MATRIX = """
name: m
topology: ../topologies/lan.yaml
servers:
  web: {host: server, impl: openssl, port: "${port}"}
clients:
  c1: {host: client, impl: "${impl}", server: web, versions: ["${v}"]}
matrix:
  impl: [openssl, gnutls]
  v: ["1.2", "1.3"]
  port: [443]
expect:
  c1: {handshake: complete, retransmissions: 0..2, handshake_time: 10ms..1s, version: "${v}"}
"""


def test_matrix_expands_to_every_combination_with_types_kept():
    cells = load_scenarios(os.path.join(SCENARIOS, "inline.yaml"), MATRIX)
    assert [s.cell_id for s in cells] == [
        "impl=openssl,v=1.2,port=443", "impl=openssl,v=1.3,port=443",
        "impl=gnutls,v=1.2,port=443", "impl=gnutls,v=1.3,port=443"]
    first = cells[0]
    assert first.client("c1").impl == "openssl" and first.client("c1").versions == ("1.2",)
    assert first.server("web").port == 443
    values = {e.name: e.value for e in first.expectations}
    assert values["retransmissions"] == Range(0, 2)
    assert values["handshake_time"] == Range(0.01, 1.0, "s")
    assert values["version"] == "TLSv1.2"


def test_default_steps_start_servers_then_run_clients():
    scenario = load_scenarios(os.path.join(SCENARIOS, "inline.yaml"), MATRIX)[0]
    assert [(s.action, s.target) for s in scenario.steps] == [("start", "web"), ("run", "c1")]


def test_client_must_reach_its_server():
    text = """
name: r
topology:
  name: split
  nodes:
    a: {kind: host, interfaces: {eth0: 10.0.0.1/24}}
    b: {kind: host, interfaces: {eth0: 10.0.0.2/24}}
    c: {kind: host, interfaces: {eth0: 10.0.1.3/24}}
    d: {kind: host, interfaces: {eth0: 10.0.1.4/24}}
  links:
    - endpoints: [a:eth0, b:eth0]
    - endpoints: [c:eth0, d:eth0]
  reach: none
servers:
  web: {host: c, impl: openssl}
clients:
  c1: {host: a, impl: openssl, server: web}
"""
    with pytest.raises(InputError, match="client c1 cannot reach server web: a has no route") as info:
        load_scenarios("inline.yaml", text)
    assert info.value.where.line == 17


def test_shipped_scenarios_validate():
    files = sorted(f for f in os.listdir(SCENARIOS) if f.endswith(".yaml"))
    assert files
    for name in files:
        assert load_scenarios(os.path.join(SCENARIOS, name))
