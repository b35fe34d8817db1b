"""Reachability and segment checks, on small inline topologies."""
import pytest

from lab.config.topology import load_topology
from lab.errors import InputError

ROUTED = """
name: t
nodes:
  a:
    kind: host
    interfaces: {eth0: 10.0.1.2/24}
    routes: [{to: default, via: 10.0.1.1}]
  r:
    kind: %s
    interfaces: {eth0: 10.0.1.1/24, eth1: 10.0.2.1/24}
  b:
    kind: host
    interfaces: {eth0: 10.0.2.2/24}
    routes: [{to: 10.0.1.0/24, via: 10.0.2.1}]
links:
  - endpoints: [a:eth0, r:eth0]
  - endpoints: [r:eth1, b:eth0]
"""


def test_router_path_is_reachable():
    topo = load_topology("inline.yaml", ROUTED % "router")
    assert topo.reach == (("a", "b"), ("b", "a"))


def test_host_in_the_middle_does_not_forward():
    with pytest.raises(InputError, match="r would have to forward packets to 10.0.2.2, but forwarding is off"):
        load_topology("inline.yaml", ROUTED % "host")


def test_reach_none_skips_the_check():
    text = (ROUTED % "host") + "reach: none\n"
    assert load_topology("inline.yaml", text).reach == ()


def test_reach_list_names_known_nodes():
    text = (ROUTED % "router") + "reach: [[a, zz]]\n"
    with pytest.raises(InputError, match="unknown node 'zz'") as info:
        load_topology("inline.yaml", text)
    assert info.value.where.line == 18


def test_longest_prefix_wins():
    text = ROUTED % "router"
    text = text.replace("routes: [{to: default, via: 10.0.1.1}]",
                        "routes: [{to: default, via: 10.0.1.1}, {to: 10.0.2.0/24, via: 10.0.1.99}]")
    with pytest.raises(InputError, match="nothing on a:eth0's segment has address 10.0.1.99"):
        load_topology("inline.yaml", text)


def test_interface_used_twice():
    text = """
name: t
nodes:
  a: {kind: host, interfaces: {eth0: 10.0.0.1/24}}
  s1: {kind: switch}
  s2: {kind: switch}
links:
  - endpoints: [a:eth0, s1]
  - endpoints: [a:eth0, s2]
"""
    with pytest.raises(InputError, match="interface a:eth0 is already on the link at line 8"):
        load_topology("inline.yaml", text)


def test_switch_clusters_form_one_segment():
    text = """
name: t
nodes:
  a: {kind: host, interfaces: {eth0: 10.0.0.1/24}}
  b: {kind: host, interfaces: {eth0: 10.0.0.2/24}}
  s1: {kind: switch}
  s2: {kind: switch}
links:
  - endpoints: [a:eth0, s1]
  - endpoints: [s1, s2]
  - endpoints: [b:eth0, s2]
"""
    assert load_topology("inline.yaml", text).reach == (("a", "b"), ("b", "a"))
