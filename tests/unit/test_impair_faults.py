"""Scripted faults: parsing, count/after/nth, each kind's effect, and the log lines."""
import pytest
from impair_support import frame, l4_checksum_ok

from lab.errors import InputError, Location
from lab.impair.config import RelayConfig
from lab.impair.faults import REGISTRY, parse_faults
from lab.impair.mangle import corrupt
from lab.impair.params import Impairment
from lab.impair.pipeline import Direction

MS = 1_000_000
WHERE = Location("scenario.yaml", 30, 7)
SYN, ACK, HELLO = frame("tcp_syn"), frame("tcp_ack"), frame("tls12_client_hello")


def direction(faults, imp=Impairment(), label="client->server"):
    log = []
    parsed = parse_faults(faults, "client", "server", WHERE)
    return Direction(label, imp, parsed, seed=1, log=log.append), log


def run(d, frames, gap=MS):
    return [d.process(i * gap, f) for i, f in enumerate(frames)]


def test_every_kind_is_registered():
    assert set(REGISTRY) == {"drop", "delay", "duplicate", "corrupt", "hold", "down"}


def test_drop_first_syn_only():
    d, log = direction([{"drop": {"match": {"tcp": "syn"}, "count": 1}}])
    out = run(d, [SYN, ACK, SYN])
    assert [len(o) for o in out] == [0, 1, 1]
    assert len(log) == 1
    line = log[0]
    assert (line["fault"], line["direction"], line["n"], line["t"]) == ("drop", "client->server", 1, 0)
    assert line["packet"] == {"proto": "tcp", "src": "10.0.0.1:40000", "dst": "10.0.0.2:443",
                              "flags": "S", "seq": 1234, "len": 0}


def test_after_and_count():
    d, _ = direction([{"drop": {"after": 2, "count": 2}}])
    assert [len(o) for o in run(d, [ACK] * 6)] == [1, 1, 0, 0, 1, 1]


def test_nth_counts_matching_packets_on_this_direction():
    d, _ = direction([{"drop": {"match": {"nth": 3, "proto": "tcp"}}}])
    assert [len(o) for o in run(d, [ACK, frame("udp"), ACK, ACK, ACK])] == [1, 1, 1, 0, 1]


def test_direction_filter():
    faults = [{"drop": {"direction": "server->client"}}]
    ab, _ = direction(faults)
    ba, _ = direction(faults, label="server->client")
    assert ab.process(0, ACK) and not ba.process(0, ACK)


def test_non_ip_frames_are_never_matched():
    d, log = direction([{"drop": {}}])
    assert d.process(0, frame("arp")) and not log


def test_delay_fault_lets_later_packets_overtake():
    d, log = direction([{"delay": {"by": "50ms", "match": {"handshake": "client_hello"}}}],
                       Impairment(delay_ns=10 * MS))
    (t_hello, _), = d.process(0, HELLO)
    (t_ack, _), = d.process(1 * MS, ACK)
    assert t_hello == 60 * MS and t_ack == 11 * MS
    assert log[0]["by_ms"] == 50 and log[0]["packet"]["handshake"] == ["client_hello"]


def test_duplicate_fault():
    d, _ = direction([{"duplicate": {"copies": 2, "match": {"tcp": "syn"}}}])
    assert [f for _, f in d.process(0, SYN)] == [SYN] * 3


def test_corrupt_fault_repairs_checksum_when_asked():
    d, _ = direction([{"corrupt": {"match": {"tls": "handshake"}, "fix_checksum": True,
                                   "offset": 0}}])
    (_, out), = d.process(0, HELLO)
    assert out != HELLO and out[54] == HELLO[54] ^ 0xFF  # first payload byte
    assert l4_checksum_ok(HELLO) and l4_checksum_ok(out)


def test_plain_corruption_breaks_the_checksum():
    out = corrupt(HELLO, 0.5)
    assert not l4_checksum_ok(out)
    assert out[:54] == HELLO[:54]  # Ethernet, IP and TCP headers intact


@pytest.mark.parametrize("offset", range(0, 40, 3))
def test_checksum_repair_at_odd_and_even_offsets(offset):
    for name in ("tls12_client_hello", "udp", "tcp_syn"):
        original = frame(name)
        out = corrupt(original, 0, fix_checksum=True, offset=offset)
        assert out != original and l4_checksum_ok(out), name


def test_hold_until_later_packets_passed():
    d, log = direction([{"hold": {"match": {"handshake": "client_hello"}, "packets": 2}}],
                       Impairment(delay_ns=10 * MS))
    assert d.process(0, HELLO) == []
    assert [f for _, f in d.process(1 * MS, ACK)] == [ACK]
    released = d.process(2 * MS, SYN)
    assert [f for _, f in released] == [SYN, HELLO]
    assert released[1][0] == released[0][0] == 12 * MS
    assert log[0]["fault"] == "hold" and log[0]["packets"] == 2


def test_hold_for_a_time():
    d, _ = direction([{"hold": {"match": {"tcp": "syn"}, "for": "300ms"}}],
                     Impairment(delay_ns=10 * MS))
    assert d.process(0, SYN) == []
    assert d.next_deadline() == 300 * MS
    assert d.expire(299 * MS) == []
    assert d.expire(300 * MS) == [(300 * MS, SYN)]
    assert d.next_deadline() is None


def test_down_window_drops_everything_in_it():
    d, log = direction([{"down": "1s..2s"}])
    assert d.process(999 * MS, frame("arp"))
    assert d.process(1000 * MS, frame("arp")) == []
    assert d.process(1500 * MS, ACK) == []
    assert d.process(2000 * MS, ACK)
    assert [line["fault"] for line in log] == ["down", "down"]


def test_down_one_direction():
    faults = [{"down": {"window": "0s..1s", "direction": "server->client"}}]
    assert direction(faults)[0].process(0, ACK)
    assert direction(faults, label="server->client")[0].process(0, ACK) == []


def test_faults_apply_before_random_impairments_and_drop_stops_the_rest():
    d, log = direction([{"drop": {"count": 1}}, {"duplicate": {}}], Impairment(delay_ns=MS))
    assert d.process(0, ACK) == []
    assert len(d.process(0, ACK)) == 2
    assert [line["fault"] for line in log] == ["drop", "duplicate"]


def test_plain_direction_skips_parsing():
    d = Direction("a->b", Impairment(delay_ns=5 * MS))
    assert d.fixed_delay == 5 * MS
    assert d.process(0, b"not even a frame") == [(5 * MS, b"not even a frame")]


@pytest.mark.parametrize("faults, words", [
    ({"drop": {}}, ["must be a list"]),
    ([{"explode": {}}], ["'explode'", "corrupt, delay, down, drop, duplicate, hold"]),
    ([{"drop": {}, "delay": {}}], ["one kind"]),
    (["drop"], ["one kind"]),
    ([{"drop": {"count": 0}}], ["faults[0] (drop).count", "at least 1"]),
    ([{"drop": {"after": -1}}], ["after", "at least 0"]),
    ([{"drop": {"match": {"nth": 2}, "count": 1}}], ["nth", "count or after"]),
    ([{"drop": {"direction": "server->nobody"}}], ["'server->nobody'", "client->server"]),
    ([{"drop": {"by": "1s"}}], ["unknown key 'by'"]),
    ([{"delay": {}}], ["needs 'by'"]),
    ([{"delay": {"by": "0ms"}}], ["more than 0"]),
    ([{"delay": {"by": "-1ms"}}], ["negative"]),
    ([{"hold": {"match": {"tcp": "syn"}}}], ["'packets'", "'for'"]),
    ([{"hold": {"packets": 0}}], ["packets", "at least 1"]),
    ([{"corrupt": {"fix_checksum": "yes"}}], ["true or false"]),
    ([{"duplicate": {"copies": 0}}], ["copies"]),
    ([{"down": "3s..1s"}], ["ends before it starts"]),
    ([{"down": "soon"}], ["1s..3s"]),
    ([{"down": {"window": "1s..2s", "match": {}}}], ["unknown key 'match'"]),
    ([{"drop": "syn"}], ["must be a mapping"]),
    ([{}, {"drop": {"match": {"tcp": "synack"}}}], ["faults[0]"]),
    ([{"drop": {}}, {"drop": {"match": {"tcp": "synack"}}}], ["faults[1] (drop).match.tcp"]),
])
def test_bad_faults_name_the_value_and_location(faults, words):
    with pytest.raises(InputError) as err:
        parse_faults(faults, "client", "server", WHERE)
    assert str(err.value).startswith("scenario.yaml:30:7: ")
    for word in words:
        assert word in str(err.value)


def test_relay_config_round_trip(tmp_path):
    config = RelayConfig("ra", "rb", Impairment(delay_ns=MS), Impairment(loss=5.0),
                         ({"drop": {"match": {"tcp": "syn"}, "count": 1}}, {"down": "1s..2s"}),
                         a_name="client", b_name="server", seed=9,
                         fault_log="/tmp/f.jsonl", stats="/tmp/s.json")
    config.write(str(tmp_path / "relay.json"))
    loaded = RelayConfig.load(str(tmp_path / "relay.json"))
    assert loaded == config
    assert [f.kind for f in loaded.faults] == ["drop", "down"]
    assert loaded.labels == ("client->server", "server->client")


def test_relay_config_rejects_bad_faults_and_malformed_json(tmp_path):
    with pytest.raises(InputError, match="unknown fault kind"):
        RelayConfig("ra", "rb", fault_specs=({"nope": {}},))
    with pytest.raises(InputError, match="malformed"):
        RelayConfig.from_json({"impairments": {}})
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(InputError, match="cannot read"):
        RelayConfig.load(str(tmp_path / "bad.json"))
