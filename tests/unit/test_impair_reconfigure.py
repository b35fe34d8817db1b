"""A link step replaces a direction's impairment mid-run."""
from lab.impair.params import Impairment
from lab.impair.pipeline import Direction

FRAME = bytes(60)


def test_set_impairment_changes_delay_for_new_frames_and_keeps_counts():
    d = Direction("a->b", Impairment(delay_ns=1_000_000, loss=50.0), seed=3)
    for i in range(100):
        d.process(i, FRAME)
    lost_before = d.scheduler.counts["loss"]
    assert lost_before > 0
    d.set_impairment(Impairment(delay_ns=25_000_000))
    [(release, _)] = d.process(1_000, FRAME)
    assert release == 1_000 + 25_000_000
    assert d.scheduler.counts["loss"] == lost_before
