"""`tlslab links --verify` measures what the lab's links really do."""
import json

import pytest

pytestmark = pytest.mark.integration


def test_wan_long_haul_link_measures_as_configured(clean_system, tlslab_cmd, tmp_path):
    result = tlslab_cmd("links", "--verify", "--json", "--out", str(tmp_path / "run"),
                        "topologies/wan.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    [link] = json.loads(result.stdout)
    assert link["engine"] == "relay"
    assert link["probed"]["probes"] == 2000
    rtt = link["measured"]["rtt_ms"]["median_ms"]
    assert abs(rtt - 80) <= max(1.0, 0.02 * 80), rtt
    loss = link["measured"]["round_trip_loss"]
    # 1% each way: 1.99% round trip, inside the measured 99% interval.
    assert loss["low"] <= 0.0199 <= loss["high"]
    assert all(c["passed"] for c in link["checks"]) and len(link["checks"]) == 2


def test_forcing_netem_without_netem_is_a_clear_error(clean_system, tlslab_cmd, tmp_path):
    from lab.doctor import netem_available

    if netem_available():
        pytest.skip("this kernel has netem")
    result = tlslab_cmd("links", "--verify", "--engine", "netem", "--out", str(tmp_path / "run"),
                        "topologies/wan.yaml")
    assert result.returncode == 3
    assert "no netem" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "run").exists()
