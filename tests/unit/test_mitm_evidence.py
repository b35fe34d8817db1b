"""lab.mitm.evidence, eventlog and the pure parts of the modes' plumbing:
ARP frames from bytes, tshark field text, the proxy log, mirror and NAT
plans, poisoning frames, downgrade verdicts and undo of vanished namespaces."""
from __future__ import annotations

import base64
import hashlib
import json
import struct
from collections import namedtuple

from lab.mitm import revert
from lab.mitm.arp_worker import Claim, claim_frames, claims_for
from lab.mitm.downgrade import verdict
from lab.mitm.eventlog import EventLog, connections, read_events, saw_plaintext
from lab.mitm.evidence import (arp_poisoning, certificate_presented, parse_arp,
                               tls_view_from_fields)
from lab.mitm.redirect import redirect_ruleset
from lab.mitm.tap import mirror_commands, mirror_plan

MITM, CLIENT, SERVER = "02:00:00:00:03:01", "02:00:00:00:01:01", "02:00:00:00:02:01"


def arp_bytes(op, eth_src, eth_dst, sha, spa, tha, tpa) -> bytes:
    mac = lambda m: bytes.fromhex(m.replace(":", ""))  # noqa: E731
    ip = lambda a: bytes(int(x) for x in a.split("."))  # noqa: E731
    return (mac(eth_dst) + mac(eth_src) + struct.pack("!HHHBBH", 0x0806, 1, 0x0800, 6, 4, op)
            + mac(sha) + ip(spa) + mac(tha) + ip(tpa) + bytes(18))


def test_parse_arp_reads_the_claim_and_ignores_other_frames():
    f = parse_arp(arp_bytes(2, MITM, CLIENT, MITM, "10.0.0.2", CLIENT, "10.0.0.1"), 5.0)
    assert (f.op, f.sender_ip, f.sender_mac, f.target_ip, f.eth_src, f.ts) == (
        2, "10.0.0.2", MITM, "10.0.0.1", MITM, 5.0)
    ipv4 = bytes(12) + b"\x08\x00" + bytes(40)
    assert parse_arp(ipv4) is None and parse_arp(b"short") is None


def test_arp_poisoning_finds_only_false_claims_from_the_mitm():
    truth = {"10.0.0.1": CLIENT, "10.0.0.2": SERVER}
    frames = [parse_arp(b, t) for t, b in enumerate([
        arp_bytes(1, CLIENT, "ff:ff:ff:ff:ff:ff", CLIENT, "10.0.0.1", "00:00:00:00:00:00", "10.0.0.2"),
        arp_bytes(2, SERVER, CLIENT, SERVER, "10.0.0.2", CLIENT, "10.0.0.1"),       # honest
        arp_bytes(2, MITM, CLIENT, MITM, "10.0.0.2", CLIENT, "10.0.0.1"),           # poison
        arp_bytes(1, MITM, CLIENT, MITM, "10.0.0.2", "00:00:00:00:00:00", "10.0.0.1"),
        arp_bytes(2, MITM, CLIENT, SERVER, "10.0.0.2", CLIENT, "10.0.0.1"),         # restore
        arp_bytes(2, MITM, CLIENT, MITM, "10.0.0.66", CLIENT, "10.0.0.1"),          # its own
    ])]
    [g] = arp_poisoning(frames, {MITM}, truth)
    assert g == {"claimed_ip": "10.0.0.2", "told_ip": "10.0.0.1", "claimed_mac": MITM,
                 "true_mac": SERVER, "replies": 1, "requests": 1, "first": 2, "last": 3}


def test_poisoning_frames_round_trip_through_the_parser():
    victims = [{"ip": "10.0.0.1", "mac": CLIENT, "iface": "eth0"},
               {"ip": "10.0.0.2", "mac": SERVER, "iface": "eth0"}]
    claims = claims_for(victims, {"eth0": MITM})
    assert [(c.victim_ip, c.about_ip) for c in claims] == [("10.0.0.1", "10.0.0.2"),
                                                          ("10.0.0.2", "10.0.0.1")]
    poison = [parse_arp(bytes(f)) for f in claim_frames(claims[0], restore=False)]
    assert [(f.op, f.sender_ip, f.sender_mac, f.target_ip, f.eth_src, f.eth_dst) for f in poison] == [
        (2, "10.0.0.2", MITM, "10.0.0.1", MITM, CLIENT), (1, "10.0.0.2", MITM, "10.0.0.1", MITM, CLIENT)]
    restore = [parse_arp(bytes(f)) for f in claim_frames(claims[0], restore=True)]
    # The truth, but still from the mitm's own Ethernet address (bridge learning).
    assert {(f.sender_mac, f.eth_src) for f in restore} == {(SERVER, MITM)}
    assert Claim(**vars(claims[0])) == claims[0]


def test_tls_view_from_tshark_fields():
    cert = "3082" + "00" * 8
    lines = [
        "0\t10.0.0.1\t40000\t10.0.0.2\t443\t1\t0\t\t\t",
        "0\t10.0.0.2\t443\t10.0.0.1\t40000\t1\t1\t\t\t",
        "0\t10.0.0.1\t40000\t10.0.0.2\t443\t0\t1\t22\t\t",
        f"0\t10.0.0.2\t443\t10.0.0.1\t40000\t0\t1\t22,22,22\t{cert}\t",
        "0\t10.0.0.1\t40000\t10.0.0.2\t443\t0\t1\t21\t\t48",
        "1\t10.0.0.2\t443\t10.0.0.1\t40001\t1\t1\t\t\t",  # capture began at the SYN-ACK
        "1\t10.0.0.1\t40001\t10.0.0.2\t443\t0\t1\t23,23\t\t",
    ]
    a, b = tls_view_from_fields("\n".join(lines) + "\n")
    assert a["client"] == "10.0.0.1:40000" and a["server"] == "10.0.0.2:443"
    assert a["leaf_sha256"] == hashlib.sha256(bytes.fromhex(cert)).hexdigest()
    assert a["alerts"] == {"client": ["unknown_ca"], "server": []}
    assert a["records"] == {"client": {22: 1, 21: 1}, "server": {22: 3}}
    assert a["client_app_data_records"] == 0
    assert a["sequence"] == ["server certificate", "client alert unknown_ca"]
    assert b["client"] == "10.0.0.1:40001" and b["client_app_data_records"] == 2
    assert certificate_presented(a, [{"forged_sha256": a["leaf_sha256"]}])
    assert not certificate_presented(b, [{"forged_sha256": a["leaf_sha256"]}])


def test_event_log_recomputes_each_direction(tmp_path):
    path = str(tmp_path / "proxy.jsonl")
    log = EventLog(path)
    log.event(0, "accept", client="10.0.0.1:1")
    log.event(0, "client_handshake", accepted=True)
    log.data(0, "client->server", b"GET / ")
    log.data(0, "client->server", b"HTTP/1.0\r\n\r\n")
    log.data(0, "server->client", b"ok")
    log.event(0, "alert", side="client", description="close_notify")
    log.event(1, "client_handshake", accepted=False, client_alert="unknown_ca")
    log.close()
    with open(path, "a") as fh:
        fh.write('{"torn": ')  # a killed process leaves half a line
    events = read_events(path)
    assert [e["event"] for e in events][:2] == ["accept", "client_handshake"]
    c0, c1 = connections(events)
    assert c0["plaintext_bytes"] == {"client->server": 18, "server->client": 2}
    assert c0["plaintext_sha256"]["client->server"] == hashlib.sha256(b"GET / HTTP/1.0\r\n\r\n").hexdigest()
    assert c0["accepted"] is True and c0["alerts"][0]["description"] == "close_notify"
    assert c1["plaintext_sha256"] == {"client->server": None, "server->client": None}
    assert c1["client_alert"] == "unknown_ca"
    assert saw_plaintext([c0]) and not saw_plaintext([c1])
    chunk = json.loads(open(path).readlines()[2])
    assert base64.b64decode(chunk["b64"]) == b"GET / " and chunk["len"] == 6


Port = namedtuple("Port", "node name outer")
LAN_PORTS = [(Port("client", "eth0", False), Port("s1", "s1-p1", True)),
             (Port("server", "eth0", False), Port("s1", "s1-p2", True)),
             (Port("s1", "s1-p3", True), Port("mitm", "eth0", False))]


def test_mirror_plan_copies_the_other_ports_of_the_mitms_switch():
    assert mirror_plan(LAN_PORTS, "mitm", ("eth0",)) == [("eth0", "s1-p3", ["s1-p1", "s1-p2"])]
    assert mirror_plan(LAN_PORTS, "mitm", ()) == []
    p2p = [(Port("client", "eth0", False), Port("mitm", "eth0", False))]
    assert mirror_plan(p2p, "mitm", ("eth0",)) == []
    qdisc, own, mirror = mirror_commands("s1-p3", ["s1-p1"], MITM)
    assert qdisc == ["tc", "qdisc", "add", "dev", "s1-p1", "clsact"]
    assert own[own.index("prio") + 1] == "1" and own[-2:] == ["classid", "1:1"]
    assert [own[i + 1] for i, a in enumerate(own) if a == "u16"] == ["0x0200", "0x0000", "0x0301"]
    assert [own[i + 1] for i, a in enumerate(own) if a == "at"] == ["-14", "-12", "-10"]
    assert mirror[mirror.index("prio") + 1] == "2" and "-14" in mirror
    assert mirror[-4:] == ["egress", "mirror", "dev", "s1-p3"]


def test_redirect_ruleset():
    text = redirect_ruleset("tlslab_intercept", ["10.0.0.1", "10.0.0.2"], 443, 10443)
    assert text.startswith("table ip tlslab_intercept {")
    assert "type nat hook prerouting priority -100;" in text
    assert "ip daddr { 10.0.0.1, 10.0.0.2 } tcp dport 443 redirect to :10443" in text


def test_downgrade_verdict():
    conn = {"version": "TLSv1.2", "cipher": "TLS_X", "downgrade_sentinel": "TLSv1.2",
            "alerts": [{"side": "client", "description": "illegal_parameter"}],
            "client_records": {"handshake": 1, "alert": 1}, "server_records": {"handshake": 1}}
    v = verdict(conn)
    assert v["client_alert"] == "illegal_parameter" and v["client_aborted"] is True
    assert v["downgrade_sentinel"] == "TLSv1.2" and v["client_app_data_records"] == 0
    done = {**conn, "alerts": [], "client_records": {"application_data": 2}}
    assert verdict(done)["client_aborted"] is False
    assert verdict({**done, "version": "TLSv1.3"})["client_aborted"] is None


def test_undo_of_a_vanished_namespace_is_nothing_to_do():
    gone = {"pid": 2 ** 22 + 7, "start": 1, "inode": 1}
    for record in ({"kind": "mitm-sysctl", "ns": gone, "values": {"net.ipv4.ip_forward": "0"}},
                   {"kind": "mitm-nat", "ns": gone, "table": "t"},
                   {"kind": "mitm-arp", "mitm_macs": [MITM], "victims": [
                       {"ns": gone, "ip": "10.0.0.2", "dev": "eth0"}]},
                   {"kind": "mitm-mirror", "ns": {"path": "/run/netns/tlslab-none", "inode": 5},
                    "ports": ["s1-p1"]}):
        assert record["kind"] in revert.KINDS
        assert revert.undo(record) == []
    assert "unknown mitm undo record" in revert.undo({"kind": "nope"})[0]
