"""Real labs: shipped topologies come up, hosts reach each other, and
teardown leaves the machine as it was."""
import os

import pytest

from lab.config.topology import load_topology
from lab.net.lab import Lab
from lab.net.reach import ping_pairs

pytestmark = pytest.mark.integration
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


def topology(name):
    return load_topology(os.path.join(ROOT, "topologies", f"{name}.yaml"))


@pytest.mark.parametrize("name", ["lan", "routed", "wan", "lossy-lan"])
def test_topology_up_every_pair_pings_and_teardown_is_clean(name, clean_system, tmp_path):
    topo = topology(name)
    with Lab(topo, run_dir=str(tmp_path / "run")) as lab:
        # Ten probes over two seconds: on lossy-lan (20% each way) even a lost
        # ARP exchange is retried (after 1 s) while probes are still going out.
        results = ping_pairs(lab, topo.reach, count=10, interval=0.2)
        # Bridges and veths live in the lab's own namespace, not the machine's.
        outer_links = lab.outer.run(["ip", "-o", "link"]).stdout.decode()
        assert f"tlslab-{lab.state.lab_id}" in lab.state.outer_netns
    failed = [(r.src, r.dst) for r in results if not r.ok]
    assert not failed, f"unreachable pairs: {failed}"
    assert len(results) == len(topo.reach) > 0
    for port in [p.name for pair in lab.ports for p in pair if p.outer]:
        assert port in outer_links
        assert port not in {line.split()[1] for line in os.popen("ip -o link")}
    assert os.path.exists(tmp_path / "run" / "lab-state.json")


def test_offloads_are_off_on_every_lab_interface(clean_system, tmp_path):
    with Lab(topology("lan"), run_dir=str(tmp_path / "run")) as lab:
        host_k = lab.host("client").run(["ethtool", "-k", "eth0"]).stdout.decode()
        port_k = lab.outer.run(["ethtool", "-k", "s1-p1"]).stdout.decode()
    for features in (host_k, port_k):
        for feature in ("tcp-segmentation-offload", "generic-segmentation-offload",
                        "generic-receive-offload", "tx-checksumming", "rx-checksumming"):
            line = next(l for l in features.splitlines() if l.startswith(feature + ":"))
            assert line.split(":")[1].split()[0] == "off", line


def test_no_path_to_the_real_network(clean_system, tmp_path):
    with Lab(topology("routed"), run_dir=str(tmp_path / "run")) as lab:
        # Asking the kernel for a route sends no packet.
        client = lab.host("client").run(["ip", "route", "get", "192.0.2.1"])
        router = lab.host("r1").run(["ip", "route", "get", "192.0.2.1"])
        outer_routes = lab.outer.run(["ip", "-4", "route"]).stdout.decode()
        outer_addrs = lab.outer.run(["ip", "-4", "-o", "addr"]).stdout.decode()
    # The client's default route leads to r1, which has no route beyond the lab.
    assert client.returncode == 0 and b"via 10.1.1.1" in client.stdout
    assert router.returncode != 0 and b"unreachable" in router.stderr
    assert outer_routes.strip() == ""
    assert all(" lo " in l for l in outer_addrs.splitlines())


def test_two_labs_with_the_same_names_at_once(clean_system, tmp_path):
    topo = topology("lan")
    with Lab(topo, run_dir=str(tmp_path / "a")) as a, Lab(topo, run_dir=str(tmp_path / "b")) as b:
        assert a.state.outer_netns != b.state.outer_netns
        ra = ping_pairs(a, topo.reach)
        rb = ping_pairs(b, topo.reach)
        # Same names, same addresses, separate wires: a's client sees only a's server.
        mac_a = a.host("server").run(["cat", "/sys/class/net/eth0/address"])
        a_hosts = {a.host(n).pid for n in a.hosts}
        b_hosts = {b.host(n).pid for n in b.hosts}
    assert all(r.ok for r in ra) and all(r.ok for r in rb)
    assert a_hosts.isdisjoint(b_hosts)


def test_processes_started_in_hosts_are_removed(clean_system, tmp_path):
    import subprocess

    with Lab(topology("lan"), run_dir=str(tmp_path / "run")) as lab:
        recorded = lab.host("server").popen(["sleep", "300"])
        # Started behind the lab's back, as a user would from `tlslab up`.
        lab.net["client"].cmd("sleep 301 &")
    assert recorded.wait(timeout=5) is not None
