"""Frame parsing and fault filters over committed frames (tests/data/frames)."""
import pytest
from impair_support import frame

from lab.errors import InputError
from lab.impair import frames
from lab.impair.faults.match import parse_match


def matches(spec, name):
    pkt = frames.parse(frame(name))
    return pkt is not None and parse_match(spec, "match").test(pkt)


def test_tcp_fields():
    pkt = frames.parse(frame("tcp_syn"))
    assert (pkt.version, pkt.proto, pkt.sport, pkt.dport, pkt.seq) == (4, 6, 40000, 443, 1234)
    assert pkt.src == bytes([10, 0, 0, 1]) and pkt.flags == frames.SYN
    assert (pkt.l4, pkt.payload, pkt.end) == (34, 54, 54)


def test_non_ip_is_none_and_vlan_ipv6_parse():
    assert frames.parse(frame("arp")) is None
    assert frames.parse(b"\x00" * 10) is None
    assert frames.parse(frame("vlan_tcp_syn")).seq == 77
    v6 = frames.parse(frame("ipv6_tcp_syn"))
    assert v6.version == 6 and v6.dport == 443 and v6.flags == frames.SYN


def test_tls_records_and_handshakes():
    hello = frames.parse(frame("tls12_client_hello"))
    assert hello.tls_records == (22,) and hello.tls_handshakes == (1,)
    flight = frames.parse(frame("tls12_server_hello"))
    assert flight.tls_handshakes == (2, 11, 12, 14)
    assert frames.parse(frame("tls13_server_hello")).tls_records[:3] == (22, 20, 23)


def test_second_message_in_a_record_is_seen():
    pkt = frames.parse(frame("tls12_one_record_flight"))
    assert pkt.tls_records == (22,)
    assert pkt.tls_handshakes == (2, 11, 12, 14)


def test_encrypted_finished_is_not_mistaken_for_a_message():
    # CKE record, CCS record, then Finished encrypted inside a handshake record.
    pkt = frames.parse(frame("tls12_client_finished"))
    assert pkt.tls_records == (22, 20, 22)
    assert pkt.tls_handshakes == (16,)


def test_mid_record_segment_is_not_tls():
    pkt = frames.parse(frame("tls12_server_continuation"))
    assert pkt.tls_records == () and pkt.tls_handshakes == ()


def test_summary_for_logs():
    assert frames.summary(frame("tcp_syn_ack")) == {
        "proto": "tcp", "src": "10.0.0.2:443", "dst": "10.0.0.1:40000", "flags": "SA",
        "seq": 5678, "len": 0}
    hello = frames.summary(frame("tls12_client_hello"))
    assert hello["tls"] == ["handshake"] and hello["handshake"] == ["client_hello"]
    assert frames.summary(frame("icmp_echo"))["seq"] == 42
    assert frames.summary(frame("arp")) == {"ethertype": "0x0806", "len": 42}
    assert frames.summary(frame("ipv6_tcp_syn"))["src"] == "[fd00::1]:40000"


@pytest.mark.parametrize("flag, names", [
    ("syn", {"tcp_syn", "ipv6_tcp_syn", "vlan_tcp_syn"}),
    ("syn-ack", {"tcp_syn_ack"}),
    ("fin", {"tcp_fin"}),
    ("rst", {"tcp_rst"}),
])
def test_tcp_flag_filters(flag, names):
    candidates = ["tcp_syn", "tcp_syn_ack", "tcp_ack", "tcp_fin", "tcp_rst", "ipv6_tcp_syn",
                  "vlan_tcp_syn", "udp", "arp", "tls12_client_hello"]
    assert {n for n in candidates if matches({"tcp": flag}, n)} == names


def test_tls_record_type_filters():
    assert matches({"tls": "handshake"}, "tls12_client_hello")
    assert matches({"tls": "alert"}, "tls_alert")
    assert not matches({"tls": "alert"}, "tls12_client_hello")
    assert matches({"tls": "application_data"}, "tls12_application_data")
    assert matches({"tls": "change_cipher_spec"}, "tls12_client_finished")
    assert not matches({"tls": "handshake"}, "tls12_server_continuation")


@pytest.mark.parametrize("message, name", [
    ("client_hello", "tls12_client_hello"), ("client_hello", "tls13_client_hello"),
    ("server_hello", "tls12_server_hello"), ("certificate", "tls12_server_hello"),
    ("server_key_exchange", "tls12_one_record_flight"),
    ("server_hello_done", "tls12_one_record_flight"),
    ("client_key_exchange", "tls12_client_finished"), ("server_hello", "tls13_server_hello"),
])
def test_handshake_filters(message, name):
    assert matches({"handshake": message}, name)


def test_handshake_filter_rejects_others():
    assert not matches({"handshake": "server_hello"}, "tls12_client_hello")
    assert not matches({"handshake": "finished"}, "tls12_client_finished")  # encrypted
    assert not matches({"handshake": "certificate"}, "tls13_server_hello")  # encrypted in 1.3
    assert matches({"handshake": ["finished", "client_hello"]}, "tls12_client_hello")


def test_address_port_and_protocol_filters():
    assert matches({"src": "10.0.0.1", "dport": 443}, "tcp_syn")
    assert matches({"dst": "10.0.0.0/24", "port": 40000}, "tcp_syn")
    assert not matches({"src": "10.0.0.2"}, "tcp_syn")
    assert not matches({"sport": 443}, "tcp_syn")
    assert matches({"proto": "udp", "dport": 53}, "udp")
    assert not matches({"proto": "tcp"}, "udp")
    assert matches({"proto": "icmp"}, "icmp_echo")
    assert not matches({"dport": 53}, "icmp_echo")
    assert matches({"src": "fd00::/64", "tcp": "syn"}, "ipv6_tcp_syn")
    assert matches({}, "udp")


@pytest.mark.parametrize("spec, words", [
    ({"tcp": "synack"}, ["'synack'", "syn-ack"]),
    ({"tls": "hello"}, ["'hello'", "application_data"]),
    ({"handshake": "clienthello"}, ["'clienthello'", "client_hello"]),
    ({"src": "10.0.0.300"}, ["'10.0.0.300'"]),
    ({"dport": 70000}, ["70000"]),
    ({"proto": "sctp"}, ["'sctp'"]),
    ({"nth": 0}, ["at least 1"]),
    ({"flags": "syn"}, ["'flags'"]),
    ({"tcp": []}, ["at least one"]),
    ("syn", ["mapping"]),
])
def test_bad_filters(spec, words):
    with pytest.raises(InputError) as err:
        parse_match(spec, "faults[0].match")
    for word in words:
        assert word in str(err.value)
