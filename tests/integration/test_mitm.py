"""The MITM node's attacks in a real lan.yaml lab, judged from captures on
every host, the proxies' logs and the clients' own outcomes."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
from contextlib import contextmanager
from pathlib import Path

import pytest

import lab.mitm as mitm
from lab.analysis.pcap import read_pcap
from lab.analysis.tcp import split_connections
from lab.config.topology import load_topology
from lab.mitm.evidence import arp_poisoning, certificate_presented, client_tls_view, read_arp
from lab.mitm.leaks import what_leaks
from lab.mitm.observe import observed
from lab.mitm.targets import lab_addresses
from lab.net.capture import HostCaptures
from lab.net.lab import Lab
from lab.pki import root_ca, server_cert, trusted_ca, write_credential
from lab.pki.keys import private_key_pem
from lab.pki.store import write_certificates, write_file
from lab.tls import registry
from lab.tls.roles import DEFAULT_REQUEST, DEFAULT_RESPONSE, ClientSpec, ServerSpec, http_response

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(any(shutil.which(t) is None for t in ("openssl", "gnutls-cli", "tcpdump", "tshark", "nft")),
                       reason="needs openssl, gnutls-bin, tcpdump, tshark and nftables"),
]
ROOT = Path(__file__).resolve().parents[2]
SERVER_IP, CLIENT_IP, MITM_IP = "10.0.0.2", "10.0.0.1", "10.0.0.66"
VICTIMS = ["client", "server"]
TIMEOUT = 8.0


@pytest.fixture
def pki(tmp_path):
    d = tmp_path / "certs"
    ca, attacker = root_ca(), trusted_ca()
    real = write_credential(d, "server", server_cert(ca, "server", ("server", SERVER_IP)))
    write_file(d / "ca.key", private_key_pem(ca.key), 0o600)
    att = write_credential(d, "attacker", attacker)
    # A client "made to trust" the attacker: its bundle holds both roots.
    both = write_certificates(d / "both-ca.pem", [ca.cert, attacker.cert])
    return {"real": real, "ca": str(real.ca_bundle), "ca_key": str(d / "ca.key"),
            "trusted_ca_cert": str(att.cert), "trusted_ca_key": str(att.key), "both": str(both),
            "real_sha256": hashlib.sha256(_der(real.cert)).hexdigest()}


def _der(pem_path) -> bytes:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding
    return x509.load_pem_x509_certificate(Path(pem_path).read_bytes()).public_bytes(Encoding.DER)


@contextmanager
def lan(tmp_path, pki, server_versions=("1.2", "1.3"), topo=None):
    """A lan.yaml lab with captures on every host and a TLS server on 443."""
    topo = topo or load_topology(str(ROOT / "topologies" / "lan.yaml"))
    with Lab(topo, run_dir=str(tmp_path / "run")) as lab:
        caps = HostCaptures(lab, str(tmp_path / "captures"))
        caps.start()
        server = registry.get("python").start_server(lab.host("server"), ServerSpec(
            port=443, cert=str(pki["real"].chain), key=str(pki["real"].key),
            versions=server_versions), str(tmp_path / "logs"))
        try:
            server.wait_ready()
            yield lab, caps
        finally:
            server.stop()
            caps.results = caps.stop()


def run_client(lab, tmp_path, impl, ca=None, verify=True, versions=("1.2", "1.3"), name=None,
               address=SERVER_IP):
    keylog = tmp_path / "keys" / f"{name or impl}.keylog"
    spec = ClientSpec(address=address, port=443, sni="server", ca=ca, verify=verify,
                      versions=versions, keylog=str(keylog))
    [out] = registry.get(impl).run_client(lab.host("client"), spec, str(tmp_path / "logs"), TIMEOUT)
    return out


def merged_keylog(tmp_path) -> str:
    path = tmp_path / "all.keylog"
    path.write_bytes(b"".join(p.read_bytes() for p in sorted((tmp_path / "keys").glob("*.keylog"))))
    return str(path)


def macs(lab) -> dict[str, str]:
    return {h: lab.host(h).run(["cat", "/sys/class/net/eth0/address"]).stdout.decode().strip()
            for h in ("client", "server", "mitm")}


def neigh(lab, host: str) -> dict[str, str]:
    out = lab.host(host).run(["ip", "-j", "neigh", "show", "dev", "eth0"]).stdout
    return {e["dst"]: e.get("lladdr") for e in json.loads(out or b"[]")}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- (a) (b) (c): ARP spoofing + interception with a cloned certificate ------------------
def test_intercept_clone_untrusted_ca(clean_system, tmp_path, pki):
    with lan(tmp_path, pki) as (lab, caps):
        mac = macs(lab)
        handle = mitm.start("intercept", lab, "mitm", {"victims": VICTIMS, "port": 443,
                                                       "forge": "clone-untrusted-ca"}, str(tmp_path))
        arp = handle.report()["arp"]
        assert arp["arp_poisoned"], arp["neigh_during"]
        assert neigh(lab, "client")[SERVER_IP] == mac["mitm"]  # measured while active
        assert neigh(lab, "server")[CLIENT_IP] == mac["mitm"]
        assert {r["kind"] for r in lab.state.undo} == {"mitm-sysctl", "mitm-arp", "mitm-nat"}
        rejected = {"openssl": run_client(lab, tmp_path, "openssl", ca=pki["ca"]),
                    "python": run_client(lab, tmp_path, "python", ca=pki["ca"], versions=("1.2",))}
        accepted = run_client(lab, tmp_path, "openssl", verify=False, name="openssl-noverify")
        handle.stop()
        handle.stop()  # idempotent
        after = {"client": neigh(lab, "client"), "server": neigh(lab, "server")}
        assert lab.state.undo == []
        forwarding = lab.host("mitm").run(["sysctl", "-n", "net.ipv4.ip_forward"]).stdout.strip()
        addresses = {a: h for a, (h, _) in lab_addresses(lab.topology).items()}
    capture_stats = caps.results
    report = handle.report()
    conns = {c["client"]: c for c in report["connections"]}
    views = {v["client"]: v for v in client_tls_view(
        os.path.join(tmp_path, "captures", "client-eth0.pcap"), merged_keylog(tmp_path))}
    assert len(conns) == 3 and set(conns) == set(views)

    # (a) Verification on: each client refuses with the alert it names, and the
    # proxy heard that alert; the client got the forged leaf, not the real one.
    for impl, out in rejected.items():
        assert not out.connected and out.error_class == "verify_failed", (impl, out)
        assert out.alert_sent == "unknown_ca", (impl, out)
    refused = [c for c in conns.values() if c["accepted"] is False]
    assert len(refused) == 2
    for conn in refused:
        view = views[conn["client"]]
        assert conn["client_alert"] == "unknown_ca"
        assert view["leaf_sha256"] == conn["forged_sha256"] != pki["real_sha256"]
        assert conn["real_sha256"] == pki["real_sha256"]
        assert certificate_presented(view, report["connections"])
        assert view["sequence"][-1] == "client alert unknown_ca"
        assert view["sequence"].index("server certificate") < view["sequence"].index(
            "client alert unknown_ca")
        assert view["client_app_data_records"] == 0
        assert conn["plaintext_bytes"] == {"client->server": 0, "server->client": 0}

    # (b) Verification off: accepted, and the proxy read every byte of it.
    assert accepted.connected and accepted.version == "TLSv1.3"
    [ok] = [c for c in conns.values() if c["accepted"] is True]
    assert ok["plaintext_sha256"]["client->server"] == accepted.sent_sha256 == sha(DEFAULT_REQUEST)
    assert ok["plaintext_sha256"]["server->client"] == accepted.received_sha256 \
        == sha(http_response(DEFAULT_RESPONSE))
    assert views[ok["client"]]["leaf_sha256"] == ok["forged_sha256"]
    assert report["mitm_saw_plaintext"] and report["clients_rejected"] == 2
    server_side = [c for c in split_connections(read_pcap(
        os.path.join(tmp_path, "captures", "server-eth0.pcap"))) if c.server_port == 443]
    assert {c.client for c in server_side} == {MITM_IP}  # never the client's own address
    assert len(server_side) == 3

    # The poisoning frames are in both victims' captures (a victim may also see
    # the other's, flooded by the bridge while it had not learned that MAC yet).
    truth = {CLIENT_IP: mac["client"], SERVER_IP: mac["server"]}
    for host, told, claimed in (("client", CLIENT_IP, SERVER_IP), ("server", SERVER_IP, CLIENT_IP)):
        seen = arp_poisoning(read_arp(os.path.join(tmp_path, "captures", f"{host}-eth0.pcap")),
                             {mac["mitm"]}, truth)
        [mine] = [g for g in seen if (g["claimed_ip"], g["told_ip"]) == (claimed, told)]
        assert mine["replies"] >= 1 and mine["requests"] >= 1

    # (c) After stop, each victim maps the other's address to its true MAC again.
    assert after["client"][SERVER_IP] == mac["server"]
    assert after["server"][CLIENT_IP] == mac["client"]
    assert report["arp"]["restored"] and report["arp"]["neigh_after"] == {
        "client": {SERVER_IP: mac["server"]}, "server": {CLIENT_IP: mac["client"]}}
    assert forwarding == b"0"  # the mitm's sysctls are back
    assert report["problems"] == [] and not report["active"]

    # The scenario expectations, computed from the same artifacts.
    keylog = merged_keylog(tmp_path)
    assert observed("arp_poisoned", report, capture_stats, addresses) is True
    assert observed("mitm_certificate_presented", report, capture_stats, addresses, keylog) is True
    assert observed("mitm_certificate_presented", report, capture_stats, addresses) is True
    assert observed("mitm_saw_plaintext", report, [vars(c) for c in capture_stats], addresses) is True
    assert observed("arp_poisoned", report, [vars(c) for c in capture_stats], addresses) is True
    json.dumps(report)  # JSON-able as is


# What each client was seen to do against each forged certificate (verification on).
FORGE_OUTCOMES = {
    "self-signed": {"openssl": "unknown_ca", "python": "unknown_ca"},
    "wrong-host": {"openssl": "bad_certificate", "python": "bad_certificate"},
    "expired": {"openssl": "certificate_expired", "python": "certificate_expired"},
    # The genuine chain, a key that is not its own: the signature check fails.
    "replay-real-cert": {"openssl": "decrypt_error", "python": "decrypt_error"},
    "trusted-ca": {"openssl": None, "python": None},  # the client trusts the attacker
}


def test_intercept_every_forge(clean_system, tmp_path, pki):
    results = {}
    with lan(tmp_path, pki) as (lab, _):
        for forge in FORGE_OUTCOMES:
            extra = {"ca_cert": pki["ca"], "ca_key": pki["ca_key"],
                     "trusted_ca_cert": pki["trusted_ca_cert"], "trusted_ca_key": pki["trusted_ca_key"]}
            with mitm.start("intercept", lab, "mitm", {"victims": VICTIMS, "forge": forge, **extra},
                            str(tmp_path)) as handle:
                bundle = pki["both"] if forge == "trusted-ca" else pki["ca"]
                outs = {impl: run_client(lab, tmp_path, impl, ca=bundle, name=f"{forge}-{impl}")
                        for impl in ("openssl", "python")}
                if forge == "replay-real-cert":  # no certificate check can be skipped past this
                    outs["openssl-noverify"] = run_client(lab, tmp_path, "openssl", verify=False,
                                                          name="replay-noverify")
            results[forge] = (outs, handle.report())
        assert lab.state.undo == []
    for forge, expected in FORGE_OUTCOMES.items():
        outs, report = results[forge]
        conns = report["connections"]
        assert len(conns) == len(outs), (forge, conns)
        for impl, alert in expected.items():
            out = outs[impl]
            assert out.alert_sent == alert, (forge, impl, out)
            assert out.connected is (alert is None), (forge, impl, out)
        for conn in conns:
            assert conn.get("client_alert") in (None, *expected.values())
        if forge == "trusted-ca":
            assert report["mitm_saw_plaintext"]
            assert all(c["plaintext_sha256"]["client->server"] == sha(DEFAULT_REQUEST) for c in conns)
            assert outs["python"].peer_issuer == "CN=tlslab attacker CA (client-trusted)"
        else:
            assert not report["mitm_saw_plaintext"]
        if forge == "replay-real-cert":
            assert all(c["forged_sha256"] == pki["real_sha256"] and c["genuine_key"] is False
                       for c in conns)
            assert outs["openssl-noverify"].alert_sent == "decrypt_error"
    # Observed, not required by RFC 8446: these OpenSSL-based TLS 1.3 clients
    # send the rejecting alert before switching to handshake keys, so it
    # crosses in the clear and an eavesdropper learns why they refused.
    leaks = what_leaks(read_pcap(os.path.join(tmp_path, "captures", "client-eth0.pcap")))["tls"]
    refused = [c for c in leaks if c["server"] == f"{SERVER_IP}:443" and c["alerts"]]
    assert len(refused) == 9 and all(c["version"] == "TLS 1.3" for c in refused)
    assert sorted({c["alerts"][0] for c in refused}) == [
        "fatal bad_certificate", "fatal certificate_expired", "fatal decrypt_error", "fatal unknown_ca"]


# --- (d): what a passive tap learns ------------------------------------------------
def test_passive_sees_the_certificate_only_in_tls12(clean_system, tmp_path, pki):
    with lan(tmp_path, pki) as (lab, _):
        handle = mitm.start("passive", lab, "mitm", {"search": ["GET /index.html"]}, str(tmp_path))
        outs = [run_client(lab, tmp_path, "python", ca=pki["ca"], versions=(v,), name=f"p{v}")
                for v in ("1.2", "1.3")]
        handle.stop()
        mirrors_left = lab.outer.run(["tc", "qdisc", "show"]).stdout.decode()
        assert lab.state.undo == []
    assert [o.version for o in outs] == ["TLSv1.2", "TLSv1.3"]
    report = handle.report()
    assert report["mirrored"] == [{"to": "s1-p3", "from": ["s1-p1", "s1-p2"]}]
    assert "clsact" not in mirrors_left
    tap = report["interfaces"]["eth0"]
    by_version = {c["version"]: c for c in tap["tls"] if c["server"] == f"{SERVER_IP}:443"}
    assert set(by_version) == {"TLS 1.2", "TLS 1.3"}
    tls12, tls13 = by_version["TLS 1.2"], by_version["TLS 1.3"]
    assert tls12["certificate_visible"] and tls12["certificates"][0]["subject"] == "CN=server"
    assert tls12["certificates"][0]["issuer"] == "CN=tlslab root CA"
    assert not tls13["certificate_visible"] and tls13["certificates"] == []
    for conn in (tls12, tls13):
        assert conn["sni"] == "server" and conn["cipher_suite"] and conn["records"]
        assert conn["app_data_sizes"]["client"] and conn["timing"]["handshake_ms"] is not None
    assert not report["plaintext_seen"] and tap["search_hits"] == []


# --- (e): downgrade ----------------------------------------------------------------
def test_downgrade_is_detected_by_tls13_clients(clean_system, tmp_path, pki):
    with lan(tmp_path, pki) as (lab, _):
        with mitm.start("downgrade", lab, "mitm", {"victims": VICTIMS}, str(tmp_path)) as handle:
            outs = {impl: run_client(lab, tmp_path, impl, ca=pki["ca"])
                    for impl in ("openssl", "python", "gnutls", "tlslite")}
        assert lab.state.undo == []
    report = handle.report()
    for impl, out in outs.items():
        assert not out.connected and out.alert_sent == "illegal_parameter", (impl, out)
    assert len(report["connections"]) == 4
    for conn in report["connections"]:
        assert conn["forwarded_versions"] == ["TLSv1.2"] and "TLSv1.3" in conn["offered_versions"]
        v = conn["verdict"]
        assert v["server_version"] == "TLSv1.2" and v["downgrade_sentinel"] == "TLSv1.2"
        assert v["client_alert"] == "illegal_parameter" and v["client_aborted"]
        assert v["client_app_data_records"] == 0


# --- crash: the undo records alone revert everything --------------------------------
def test_undo_records_revert_a_crashed_attack(clean_system, tmp_path, pki):
    with lan(tmp_path, pki) as (lab, _):
        mac = macs(lab)
        handle = mitm.start("intercept", lab, "mitm", {"victims": VICTIMS}, str(tmp_path))
        for proc in handle.processes + handle.arp.processes:
            proc.send_signal(signal.SIGKILL)  # no restoring rounds, no cleanup
            proc.wait()
        records = list(lab.state.undo)
        assert neigh(lab, "client")[SERVER_IP] == mac["mitm"]
        problems = [p for r in reversed(records) for p in mitm.undo(r)]
        client_after = neigh(lab, "client")
        forwarding = lab.host("mitm").run(["sysctl", "-n", "net.ipv4.ip_forward"]).stdout.strip()
        nat = lab.host("mitm").run(["nft", "list", "tables"]).stdout.decode()
        handle.stop()  # reverting again finds nothing to do
        assert lab.state.undo == [] and handle.problems == []
    assert problems == []
    assert client_after.get(SERVER_IP) in (None, mac["server"])
    assert forwarding == b"0" and "tlslab_" not in nat


# --- in-path: a mitm that routes between two subnets ----------------------------------
TWO_SUBNETS = """\
name: inpath
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


def test_in_path_records_and_intercepts_without_spoofing(clean_system, tmp_path, pki):
    path = tmp_path / "inpath.yaml"
    path.write_text(TWO_SUBNETS)
    far = "10.2.0.1"
    with lan(tmp_path, pki, topo=load_topology(str(path))) as (lab, caps):
        with mitm.start("in-path", lab, "mitm", {}, str(tmp_path)) as tap:
            seen = run_client(lab, tmp_path, "python", ca=pki["ca"], versions=("1.2",),
                              address=far, name="inpath")
        with mitm.start("intercept", lab, "mitm", {"victims": ["server"], "spoof": False},
                        str(tmp_path)) as handle:
            taken = run_client(lab, tmp_path, "openssl", verify=False, address=far, name="taken")
        assert lab.state.undo == []
    assert seen.connected and taken.connected
    report = tap.report()
    assert report["mirrored"] == [] and set(report["interfaces"]) == {"eth0", "eth1"}
    for intf in ("eth0", "eth1"):  # the same connection, on its way in and out
        [conn] = report["interfaces"][intf]["tls"]
        assert conn["server"] == f"{far}:443" and conn["certificates"][0]["subject"] == "CN=server"
    [conn] = handle.report()["connections"]
    assert conn["original_dst"] == f"{far}:443" and conn["accepted"] is True
    assert conn["plaintext_sha256"]["client->server"] == taken.sent_sha256
    assert handle.report()["arp"] is None
    server_side = [c for c in split_connections(read_pcap(
        os.path.join(tmp_path, "captures", "server-eth0.pcap"))) if c.server_port == 443]
    assert [c.client for c in server_side] == ["10.1.0.1", "10.2.0.254"]  # direct, then the proxy
