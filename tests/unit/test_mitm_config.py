"""lab.mitm.config and lab.mitm.targets: strict parsing and the safety checks,
against shipped and inline topologies. No root, nothing touched."""
from __future__ import annotations

import os
import textwrap

import pytest

from lab.config.topology import load_topology
from lab.errors import InputError
from lab.mitm import FORGES, MODES, forge_needs, get, names, parse_config
from lab.mitm.config import MitmConfig, missing_inputs, to_json
from lab.mitm.targets import check_interfaces, mitm_node, resolve_victims

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAN = load_topology(os.path.join(ROOT, "topologies", "lan.yaml"))


def test_every_mode_is_registered_and_importable():
    assert names() == list(MODES)
    for mode in MODES:
        assert get(mode).mode == mode
    with pytest.raises(InputError, match="supported: passive, arp-spoof"):
        get("sslstrip")


def test_defaults_and_json():
    c = parse_config("intercept", {"victims": ["client", "server"]})
    assert (c.port, c.forge, c.spoof, c.interval, c.restore) == (443, "clone-untrusted-ca", True, 0.5, 5)
    assert to_json(c)["victims"] == ("client", "server")
    assert parse_config("passive", None).interfaces == ()


@pytest.mark.parametrize("mode, data, message", [
    ("passive", {"victims": ["client"]}, "does not take victims; it takes: interfaces, search"),
    ("arp-spoof", {"victims": ["client"]}, "at least 2 victims"),
    ("arp-spoof", {"victims": "client,server"}, "must be a list of strings"),
    ("arp-spoof", {"victims": ["client", "client"]}, "repeat"),
    ("intercept", {"victims": ["client", "server"], "forge": "evil"}, "unknown forge 'evil'"),
    ("intercept", {"victims": ["server"], "spoof": False, "port": 0}, "port must be"),
    ("intercept", {"victims": ["client", "server"], "proxy_port": 443}, "must differ"),
    ("intercept", {"victims": ["client", "server"], "key": "dsa"}, "unknown key type"),
    ("intercept", {"victims": [], "spoof": False}, "at least 1 victims"),
    ("arp-spoof", {"victims": ["client", "server"], "interval": 0}, "interval"),
    ("arp-spoof", {"victims": ["client", "server"], "restore": True}, "restore"),
    ("downgrade", {"victims": ["client", "server"], "max_version": "1.3"}, "max_version"),
    ("downgrade", {"victims": ["client", "server"], "ciphers": ["AES128-SHA"]}, "IANA"),
    ("sslstrip", {}, "unknown mitm mode"),
])
def test_bad_configs_are_refused(mode, data, message):
    with pytest.raises(InputError, match=message):
        parse_config(mode, data)


def test_forges_and_their_needs():
    assert set(FORGES) >= {"clone-untrusted-ca", "self-signed", "wrong-host", "expired",
                           "replay-real-cert", "trusted-ca"}
    assert forge_needs("wrong-host") == ("ca_cert", "ca_key")
    assert forge_needs("trusted-ca") == ("trusted_ca_cert", "trusted_ca_key")
    assert forge_needs("clone-untrusted-ca") == ()
    c = MitmConfig(mode="intercept", victims=("client", "server"), forge="expired")
    assert missing_inputs(c) == ["ca_cert", "ca_key"]
    assert missing_inputs(MitmConfig(mode="intercept", victims=("client", "server"))) == []


def test_victims_by_name_or_address():
    vs = resolve_victims(LAN, "mitm", ("client", "10.0.0.2"), adjacent=True)
    assert [(v.host, v.address, v.interface, v.mitm_interface) for v in vs] == [
        ("client", "10.0.0.1", "eth0", "eth0"), ("server", "10.0.0.2", "eth0", "eth0")]


@pytest.mark.parametrize("victims, message", [
    (("client", "192.0.2.1"), "refusing to target 192.0.2.1: not an address of a host"),
    (("client", "8.8.8.8"), "refusing to target 8.8.8.8"),
    (("client", "mitm"), "it is the mitm itself"),
    (("client", "10.0.0.66"), "it is the mitm itself"),
    (("client", "s1"), "no address"),
    (("client", "www.example.com"), "no such host"),
    (("client", "10.0.0.1"), "same host twice"),
])
def test_targets_outside_the_lab_are_refused(victims, message):
    with pytest.raises(InputError, match=message):
        resolve_victims(LAN, "mitm", victims, adjacent=True)


def test_the_attacker_must_be_a_mitm_node():
    assert mitm_node(LAN, "mitm").name == "mitm"
    with pytest.raises(InputError, match="is a host, not a mitm; mitm nodes: mitm"):
        mitm_node(LAN, "client")
    with pytest.raises(InputError, match="no node 'eve'"):
        mitm_node(LAN, "eve")


def test_interfaces_to_tap():
    node = mitm_node(LAN, "mitm")
    assert check_interfaces(node, ()) == ("eth0",)
    with pytest.raises(InputError, match="no interface 'eth9'"):
        check_interfaces(node, ("eth9",))


ROUTED_MITM = """\
name: twonets
nodes:
  client: {kind: host, interfaces: {eth0: 10.1.0.1/24}, routes: [{to: default, via: 10.1.0.254}]}
  server: {kind: host, interfaces: {eth0: 10.2.0.1/24}, routes: [{to: default, via: 10.2.0.254}]}
  mitm:
    kind: mitm
    forwarding: true
    interfaces: {eth0: 10.1.0.254/24, eth1: 10.2.0.254/24}
links:
  - endpoints: [client:eth0, mitm:eth0]
  - endpoints: [server:eth0, mitm:eth1]
"""


def test_adjacency_is_per_interface_and_only_needed_for_arp(tmp_path):
    path = tmp_path / "twonets.yaml"
    path.write_text(textwrap.dedent(ROUTED_MITM))
    topo = load_topology(str(path))
    vs = resolve_victims(topo, "mitm", ("client", "server"), adjacent=True)
    assert [v.mitm_interface for v in vs] == ["eth0", "eth1"]
    far = MitmConfig(mode="intercept", victims=("server",), spoof=False)
    assert resolve_victims(topo, "mitm", far.victims, adjacent=False)[0].address == "10.2.0.1"
