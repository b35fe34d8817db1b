"""Impairment parsing: units, per-direction overrides, every bad value, netem argv."""
import pytest

from lab.errors import InputError, Location
from lab.impair.params import Impairment, netem_args, parse_link_impairments
from lab.impair.units import parse_duration, parse_percent, parse_rate, parse_window

WHERE = Location("topo.yaml", 12, 5)
MS = 1_000_000


def parse(spec):
    return parse_link_impairments(spec, "client", "server", WHERE)


@pytest.mark.parametrize("text, ns", [
    ("10ms", 10 * MS), ("1.5ms", 1_500_000), ("250us", 250_000), ("2s", 2_000_000_000),
    (" 3 ms ", 3 * MS), ("0", 0), (0, 0), ("0.5s", 500 * MS),
])
def test_durations(text, ns):
    assert parse_duration(text, "delay") == ns


@pytest.mark.parametrize("text, bps", [
    ("10mbit", 10_000_000), ("512kbit", 512_000), ("1gbit", 1_000_000_000),
    ("1.5Mbit", 1_500_000), ("9600bit", 9600),
])
def test_rates(text, bps):
    assert parse_rate(text, "rate") == bps


def test_percent_and_window():
    assert parse_percent("5%", "loss") == 5.0
    assert parse_percent("0.01%", "loss") == 0.01
    assert parse_percent("100%", "loss") == 100.0
    assert parse_window("1s..3s", "down") == (1_000_000_000, 3_000_000_000)
    assert parse_window("500ms..1.5s", "down") == (500 * MS, 1_500 * MS)


def test_shared_values_apply_both_ways():
    ab, ba = parse({"delay": "10ms", "loss": "1%", "rate": "10mbit"})
    assert ab == ba == Impairment(delay_ns=10 * MS, loss=1.0, rate=10_000_000)


def test_direction_overrides_shared_value():
    ab, ba = parse({"delay": "10ms", "client->server": {"delay": "50ms", "loss": "2%"},
                    "server->client": {"jitter": "1ms"}})
    assert ab == Impairment(delay_ns=50 * MS, loss=2.0)
    assert ba == Impairment(delay_ns=10 * MS, jitter_ns=1 * MS)


def test_empty_and_missing_spec_mean_a_plain_wire():
    assert parse(None) == parse({}) == (Impairment(), Impairment())
    assert not Impairment() and not Impairment(queue=10)
    assert Impairment(loss=1.0)


@pytest.mark.parametrize("spec, words", [
    ({"delay": "-5ms"}, ["'-5ms'", "negative"]),
    ({"delay": "ten ms"}, ["'ten ms'", "cannot read"]),
    ({"delay": "10"}, ["'10'", "needs a unit"]),
    ({"delay": 10}, ["10", "needs a unit"]),
    ({"delay": "10min"}, ["'min'", "unknown unit"]),
    ({"delay": [10]}, ["[10]"]),
    ({"delay": True}, ["True"]),
    ({"jitter": "-1ms", "delay": "5ms"}, ["negative"]),
    ({"loss": "101%"}, ["'101%'", "over 100%"]),
    ({"loss": "-1%"}, ["'-1%'", "negative"]),
    ({"loss": "5"}, ["'5'", "%"]),
    ({"loss": "5 percent"}, ["'percent'", "unknown unit"]),
    ({"duplicate": "150%"}, ["over 100%"]),
    ({"corrupt": "x%"}, ["'x%'"]),
    ({"rate": "0mbit"}, ["'0mbit'", "above 0"]),
    ({"rate": "0"}, ["'0'", "unit"]),
    ({"rate": "10mbps"}, ["'mbps'", "unknown unit"]),
    ({"rate": "-1mbit"}, ["negative"]),
    ({"queue": 0}, ["0", "at least 1"]),
    ({"queue": "100"}, ["'100'", "whole number"]),
    ({"jitter": "2ms"}, ["jitter needs a delay"]),
    ({"reorder": "10%"}, ["reorder needs a delay"]),
    ({"client->server": {"jitter": "2ms"}}, ["client->server", "jitter needs a delay"]),
    ({"latency": "10ms"}, ["'latency'", "unknown impairment"]),
    ({"client->nobody": {"delay": "1ms"}}, ["'client->nobody'", "client->server"]),
    ({"client->server": {"speed": "1mbit"}}, ["'speed'"]),
    ({"client->server": "10ms"}, ["must be a mapping"]),
])
def test_bad_values_name_the_value_and_location(spec, words):
    with pytest.raises(InputError) as err:
        parse(spec)
    text = str(err.value)
    assert text.startswith("topo.yaml:12:5: ")
    for word in words:
        assert word in text


def test_spec_must_be_a_mapping():
    with pytest.raises(InputError, match="must be a mapping"):
        parse("10ms")


def test_bad_window():
    for text in ("3s..1s", "1s", "1s..x", 5):
        with pytest.raises(InputError):
            parse_window(text, "down", WHERE)


def test_direct_construction_is_checked_too():
    with pytest.raises(InputError):
        Impairment(loss=120)
    with pytest.raises(InputError):
        Impairment(rate=0)
    with pytest.raises(InputError):
        Impairment(jitter_ns=5)


def test_json_round_trip():
    imp = Impairment(delay_ns=3, jitter_ns=1, loss=1.5, rate=1000, queue=7, duplicate=2,
                     reorder=3, corrupt=4)
    assert Impairment.from_json(imp.to_json()) == imp
    with pytest.raises(InputError, match="bogus"):
        Impairment.from_json({"bogus": 1})


def test_netem_args():
    imp = Impairment(delay_ns=10 * MS, jitter_ns=1_500_000, loss=5.0, duplicate=1.0,
                     reorder=25.0, corrupt=0.1)
    assert netem_args(imp) == ["netem", "delay", "10ms", "1500us", "loss", "5%",
                               "duplicate", "1%", "reorder", "25%", "corrupt", "0.1%",
                               "limit", "100000"]
    # The limit covers the delay line at the configured rate plus the queue.
    rated = netem_args(Impairment(delay_ns=100 * MS, rate=10_000_000, queue=50))
    assert rated == ["netem", "delay", "100ms", "rate", "10000000bit", "limit", str(50 + 83)]
    assert netem_args(Impairment()) == ["netem", "limit", "100000"]
