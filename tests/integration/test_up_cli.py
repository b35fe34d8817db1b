"""`tlslab up` opens Mininet's CLI with hosts named as in the YAML."""
import pytest

pytestmark = pytest.mark.integration


def test_up_cli_pings_by_yaml_name_and_tears_down(clean_system, tlslab_cmd, tmp_path):
    result = tlslab_cmd("up", "--out", str(tmp_path / "run"), "topologies/routed.yaml",
                        input="client ping -c1 -W2 server\nnodes\nexit\n")
    assert result.returncode == 0, result.stderr
    both = result.stdout + result.stderr  # Mininet's CLI prints through its logger (stderr)
    assert "1 received" in both and "10.1.2.10" in both
    assert "client r1 r2 server" in both
    assert "lab torn down" in result.stdout
    assert "Warning" not in both  # Mininet's set-up chatter goes to logs/mininet.log
