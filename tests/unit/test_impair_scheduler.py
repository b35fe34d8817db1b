"""The seeded per-frame scheduler: delay, jitter, FIFO, reorder, loss, rate, queue."""
import math

from lab.impair.params import Impairment
from lab.impair.scheduler import Scheduler

MS = 1_000_000
FRAME = bytes(range(60)) + b"x" * 40


def feed(imp, n=1000, gap=MS, seed=1, size=100):
    """n frames `gap` ns apart, each tagged with its index; returns (scheduler, releases)."""
    sched = Scheduler(imp, seed)
    out = []
    for i in range(n):
        frame = i.to_bytes(4, "big") + b"\0" * (size - 4)
        out += [(t, int.from_bytes(f[:4], "big"), i * gap) for t, f in sched.schedule(i * gap, frame)]
    return sched, out


def test_fixed_delay_keeps_order_and_exact_time():
    sched, out = feed(Impairment(delay_ns=10 * MS))
    assert [idx for _, idx, _ in out] == list(range(1000))
    assert all(t == sent + 10 * MS for t, _, sent in out)
    assert sched.fixed_delay == 10 * MS


def test_no_impairment_releases_immediately():
    sched, out = feed(Impairment(), n=10)
    assert all(t == sent for t, _, sent in out)
    assert sched.fixed_delay == 0


def test_jitter_stays_within_bounds_and_varies():
    _, out = feed(Impairment(delay_ns=20 * MS, jitter_ns=5 * MS), gap=20 * MS)
    delays = [t - sent for t, _, sent in out]
    # Frames are 20 ms apart, so FIFO never has to push one later than its jitter.
    assert min(delays) >= 15 * MS and max(delays) <= 25 * MS
    assert max(delays) - min(delays) > 8 * MS
    assert abs(sum(delays) / len(delays) - 20 * MS) < 0.5 * MS


def test_jitter_without_reorder_is_fifo():
    _, out = feed(Impairment(delay_ns=10 * MS, jitter_ns=8 * MS), gap=100_000)
    times = [t for t, _, _ in out]
    assert [idx for _, idx, _ in out] == list(range(1000))
    assert times == sorted(times)
    assert all(t >= sent + 2 * MS for t, _, sent in out)


def test_reorder_sends_a_share_at_once_and_delays_the_rest():
    sched, out = feed(Impairment(delay_ns=10 * MS, reorder=25), n=4000)
    immediate = [idx for t, idx, sent in out if t == sent]
    delayed = [idx for t, idx, sent in out if t == sent + 10 * MS]
    assert len(immediate) + len(delayed) == 4000
    assert abs(len(immediate) / 4000 - 0.25) < 0.03
    assert sched.counts["reorder"] == len(immediate)
    by_time = [idx for _, idx, _ in sorted(out)]
    assert by_time != sorted(by_time)  # some frames really overtake others


def test_same_seed_same_decisions_different_seed_different():
    imp = Impairment(delay_ns=5 * MS, jitter_ns=2 * MS, loss=10, duplicate=5, corrupt=5)
    _, first = feed(imp, seed=42)
    _, again = feed(imp, seed=42)
    _, other = feed(imp, seed=43)
    assert first == again
    kept = lambda out: {idx for _, idx, _ in out}  # noqa: E731
    assert kept(first) != kept(other)


def test_drops_do_not_depend_on_other_impairments():
    # Every frame draws the same uniforms, so adding jitter keeps the drop pattern.
    _, plain = feed(Impairment(delay_ns=5 * MS, loss=20), seed=7)
    _, jittered = feed(Impairment(delay_ns=5 * MS, jitter_ns=1 * MS, loss=20), seed=7)
    assert {i for _, i, _ in plain} == {i for _, i, _ in jittered}


def test_directions_have_independent_streams():
    a = Scheduler(Impairment(loss=50), 1, "a->b")
    b = Scheduler(Impairment(loss=50), 1, "b->a")
    pattern = lambda s: [bool(s.schedule(i, FRAME)) for i in range(200)]  # noqa: E731
    assert pattern(a) != pattern(b)


def test_loss_rate_close_to_configured():
    for pct in (1, 5, 20, 50):
        n = 20_000
        sched, out = feed(Impairment(loss=pct), n=n, seed=pct)
        p = pct / 100
        measured = 1 - len(out) / n
        assert abs(measured - p) < 4 * math.sqrt(p * (1 - p) / n)
        assert sched.counts["loss"] == n - len(out)


def test_full_loss_and_zero_loss():
    assert feed(Impairment(loss=100), n=500)[1] == []
    assert len(feed(Impairment(loss=0), n=500)[1]) == 500


def test_duplicate_sends_two_copies_at_the_same_time():
    sched, out = feed(Impairment(duplicate=100), n=10)
    assert [idx for _, idx, _ in out] == [i for i in range(10) for _ in (0, 1)]
    assert sched.counts["duplicate"] == 10


def test_duplicate_and_loss_cancel_like_netem():
    _, out = feed(Impairment(duplicate=100, loss=100), n=10)
    assert [idx for _, idx, _ in out] == list(range(10))


def test_corrupt_flips_one_byte_past_the_headers():
    # An IPv4/TCP frame: Ethernet 14 + IP 20 + TCP 20, then payload.
    frame = (b"\x02" * 12 + b"\x08\x00" + bytes([0x45, 0, 0, 60]) + b"\0" * 5 + bytes([6]) +
             b"\0" * 2 + bytes([10, 0, 0, 1, 10, 0, 0, 2]) + b"\0" * 12 + bytes([0x50]) +
             b"\0" * 7 + b"P" * 20)
    sched = Scheduler(Impairment(corrupt=100), 3)
    for i in range(50):
        (_, out), = sched.schedule(i, frame)
        diff = [j for j in range(len(frame)) if frame[j] != out[j]]
        assert len(diff) == 1 and diff[0] >= 54
        assert out[diff[0]] == frame[diff[0]] ^ 0xFF


def test_rate_serialises_frames():
    # 1000-byte frames at 8 Mbit/s take exactly 1 ms each on the wire.
    _, out = feed(Impairment(rate=8_000_000), n=10, gap=0, size=1000)
    assert [t for t, _, _ in out] == [(i + 1) * MS for i in range(10)]


def test_rate_then_delay():
    _, out = feed(Impairment(rate=8_000_000, delay_ns=10 * MS), n=3, gap=0, size=1000)
    assert [t for t, _, _ in out] == [11 * MS, 12 * MS, 13 * MS]


def test_rate_limited_average_matches_configured():
    sched, out = feed(Impairment(rate=10_000_000, queue=100_000), n=5000, gap=0, size=1514)
    seconds = out[-1][0] / 1e9
    assert abs(5000 * 1514 * 8 / seconds - 10_000_000) < 1000


def test_queue_limit_tail_drops():
    sched, out = feed(Impairment(rate=8_000_000, queue=5), n=20, gap=0, size=1000)
    assert [idx for _, idx, _ in out] == [0, 1, 2, 3, 4]
    assert sched.counts["queue"] == 15


def test_queue_drains_over_time():
    # A 1 ms frame every 2 ms never builds a queue.
    sched, out = feed(Impairment(rate=8_000_000, queue=1), n=100, gap=2 * MS, size=1000)
    assert len(out) == 100 and sched.counts["queue"] == 0


def test_events_are_reported():
    seen = []
    sched = Scheduler(Impairment(loss=100), 0, "a->b", lambda kind, f: seen.append(kind))
    sched.schedule(0, FRAME)
    assert seen == ["loss"]
