"""The topology loader: good files load, every bad file names file:line."""
import io
import os

import pytest

from lab.cli.main import Environment, main
from lab.config.topology import load_topology
from lab.errors import ExitStatus, InputError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
BAD = os.path.join(ROOT, "tests", "data", "bad")
TOPOLOGIES = os.path.join(ROOT, "topologies")

# file -> (line, a fragment of the message)
BAD_TOPOLOGIES = {
    "syntax_unclosed.yaml": (3, "YAML syntax error"),
    "syntax_tab.yaml": (3, "YAML syntax error"),
    "empty.yaml": (1, "file is empty"),
    "top_list.yaml": (1, "must be a mapping, not a list"),
    "binary.yaml": (1, "binary data"),
    "latin1.yaml": (1, "not UTF-8"),
    "huge.yaml": (1, "limited to"),
    "missing_nodes.yaml": (1, "missing key 'nodes'"),
    "unknown_key_top.yaml": (4, "unknown key 'nodez'"),
    "unknown_key_node.yaml": (5, "unknown key 'colour'"),
    "unknown_kind.yaml": (4, "unknown node kind 'firewall'; supported kinds: host, mitm, router, switch"),
    "bad_address.yaml": (5, "bad address '10.0.0.300/24'"),
    "missing_prefix.yaml": (5, "needs a prefix length"),
    "public_address.yaml": (5, "not a private unicast address"),
    "dangling_link.yaml": (7, "'ghost:eth0' names no node"),
    "duplicate_node.yaml": (5, "duplicate key 'a'"),
    "duplicate_address.yaml": (8, "duplicate address 10.0.0.1"),
    "wrong_type_interfaces.yaml": (5, "interfaces must be a mapping, not a list"),
    "wrong_type_stp.yaml": (5, "stp must be true or false"),
    "wrong_type_name.yaml": (1, "topology name must be a string"),
    "bad_cidr.yaml": (11, "bad subnet '10.0.0.0/33'"),
    "self_link.yaml": (7, "link connects a to itself"),
    "outside_subnet.yaml": (8, "outside its link's subnet 10.0.0.0/24"),
    "no_route.yaml": (4, "no route from a to b: b has no route to 10.0.1.2"),
    "unlinked_interface.yaml": (5, "interface a:eth1 is on no link"),
    "gateway_off_subnet.yaml": (7, "gateway 10.9.9.9 of a is not on any of its subnets"),
    "three_endpoints.yaml": (7, "exactly 2 endpoints, not 3"),
}


def test_every_bad_file_is_covered():
    on_disk = {f for f in os.listdir(BAD) if f.endswith(".yaml") and f.startswith(tuple(
        n.split(".")[0] for n in BAD_TOPOLOGIES))}
    assert len(BAD_TOPOLOGIES) >= 15
    assert set(BAD_TOPOLOGIES) <= on_disk


@pytest.mark.parametrize("name", sorted(BAD_TOPOLOGIES))
def test_bad_topology_error_names_file_and_line(name):
    line, fragment = BAD_TOPOLOGIES[name]
    path = os.path.join(BAD, name)
    with pytest.raises(InputError) as info:
        load_topology(path)
    err = info.value
    assert err.where is not None and err.where.file == path
    assert err.where.line == line, str(err)
    assert fragment in err.message
    assert str(err).startswith(f"{path}:{line}")


@pytest.mark.parametrize("name", sorted(BAD_TOPOLOGIES))
def test_cli_validate_bad_file_exits_2_with_one_line(name):
    out, err = io.StringIO(), io.StringIO()
    path = os.path.join(BAD, name)
    status = main(["validate", path], Environment(stdout=out, stderr=err))
    assert status == ExitStatus.BAD_INPUT
    lines = err.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"tlslab: {path}:")
    assert "Traceback" not in err.getvalue()


@pytest.mark.parametrize("name", ["lan", "routed", "wan", "lossy-lan"])
def test_shipped_topologies_load(name):
    topo = load_topology(os.path.join(TOPOLOGIES, f"{name}.yaml"))
    assert topo.name == name
    assert topo.reach, "every shipped topology has pairs that must reach each other"
    with open(os.path.join(TOPOLOGIES, f"{name}.yaml")) as fh:
        assert fh.readline().startswith("# yaml-language-server: $schema=../schema/topology.schema.json")


def test_lan_model():
    topo = load_topology(os.path.join(TOPOLOGIES, "lan.yaml"))
    assert [n.name for n in topo.nodes] == ["client", "server", "mitm", "s1"]
    assert str(topo.node("client").primary_address) == "10.0.0.1"
    assert topo.node("mitm").kind == "mitm" and not topo.node("mitm").forwarding
    assert ("client", "server") in topo.reach and ("s1", "client") not in topo.reach


def test_routers_forward_by_default():
    topo = load_topology(os.path.join(TOPOLOGIES, "routed.yaml"))
    assert topo.node("r1").forwarding and not topo.node("client").forwarding
    assert topo.reach == (("client", "server"), ("server", "client"))


def test_cli_validate_good_files(capsys):
    files = [os.path.join(TOPOLOGIES, f"{n}.yaml") for n in ("lan", "routed", "wan")]
    out = io.StringIO()
    assert main(["validate", *files], Environment(stdout=out, stderr=io.StringIO())) == 0
    assert out.getvalue().count(": ok") == 3


def test_unknown_command_is_bad_input():
    err = io.StringIO()
    assert main(["frobnicate"], Environment(stdout=io.StringIO(), stderr=err)) == 2
    assert "invalid choice" in err.getvalue()


def test_missing_file_is_bad_input(tmp_path):
    err = io.StringIO()
    path = str(tmp_path / "nope.yaml")
    assert main(["validate", path], Environment(stdout=io.StringIO(), stderr=err)) == 2
    assert err.getvalue().startswith(f"tlslab: {path}:1: cannot read file")
