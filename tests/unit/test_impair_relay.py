"""Relay helpers that need no sockets: ring slot sizing and the stats verdicts."""
from lab.impair.control import problems
from lab.impair.ring import slot_size


def test_ring_slots_fit_the_mtu():
    assert slot_size(1500) == 2048
    assert slot_size(1900) == 4096
    assert slot_size(9000) == 16384


def test_clean_stats_have_no_problems():
    stats = {"duration_s": 1.0, "realtime": "yes",
             "a->b": {"in": 5, "out": 5, "dropped": 0, "errors": {}, "kernel_drops": 0,
                      "truncated": 0, "partial_checksum": 0}}
    assert problems(stats) == []


def test_problems_name_what_was_not_impaired_as_configured():
    stats = {"realtime": "no: [Errno 1] Operation not permitted",
             "client->server": {"kernel_drops": 3, "truncated": 2, "partial_checksum": 1,
                                "errors": {"ENOBUFS": 4}}}
    text = "\n".join(problems(stats))
    for word in ("3 frames lost", "2 oversized", "segmentation offloads", "1 frames had checksums",
                 "4 frames failed to send (ENOBUFS)", "real-time priority"):
        assert word in text
