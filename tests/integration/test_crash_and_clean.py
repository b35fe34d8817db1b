"""A runner killed with SIGKILL leaves a lab behind; `tlslab clean` removes
exactly it. Bad input never touches the system."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from lab.net.state import REGISTRY

pytestmark = pytest.mark.integration
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


def _wait_for_lab_up(known: set[str], timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name in set(os.listdir(REGISTRY)) - known if os.path.isdir(REGISTRY) else ():
            try:
                with open(os.path.join(REGISTRY, name)) as fh:
                    state = json.load(fh)
            except (OSError, ValueError):
                continue
            if state["status"] == "up" and state["processes"]:
                return state
        time.sleep(0.05)
    raise AssertionError("the lab did not come up")


def test_sigkill_then_clean_leaves_nothing(clean_system, tlslab_cmd, tmp_path):
    known = set(os.listdir(REGISTRY)) if os.path.isdir(REGISTRY) else set()
    runner = subprocess.Popen(
        [sys.executable, "-m", "lab", "exec", "--out", str(tmp_path / "run"),
         "topologies/lan.yaml", "client", "--", "sleep", "300"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state = _wait_for_lab_up(known)
    runner.send_signal(signal.SIGKILL)
    runner.wait()
    # The lab outlived its runner: namespace, host shells and the sleep are all there.
    assert os.path.exists(f"/run/netns/{state['outer_netns']}")
    shells = [s["pid"] for s in state["shells"].values()]
    assert all(os.path.exists(f"/proc/{pid}") for pid in shells)
    sleeper = state["processes"][0]["pid"]
    assert os.path.exists(f"/proc/{sleeper}")

    result = tlslab_cmd("clean")
    assert result.returncode == 0, result.stderr
    assert f"removed lab {state['lab_id']}" in result.stdout
    assert not os.path.exists(f"/run/netns/{state['outer_netns']}")
    assert not any(os.path.exists(f"/proc/{pid}") and _not_zombie(pid) for pid in shells + [sleeper])
    # The run directory keeps the record of what was removed.
    with open(tmp_path / "run" / "lab-state.json") as fh:
        assert json.load(fh)["status"] == "torn down"


def _not_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_clean_leaves_running_labs_alone(clean_system, tlslab_cmd, tmp_path):
    from lab.config.topology import load_topology
    from lab.net.lab import Lab

    with Lab(load_topology(os.path.join(ROOT, "topologies", "lan.yaml")),
             run_dir=str(tmp_path / "run")) as lab:
        result = tlslab_cmd("clean")
        assert "still running" in result.stdout
        assert os.path.exists(f"/run/netns/{lab.state.outer_netns}")


BAD_SAMPLE = ["syntax_unclosed.yaml", "empty.yaml", "binary.yaml", "huge.yaml",
              "dangling_link.yaml", "duplicate_address.yaml", "no_route.yaml", "self_link.yaml"]


@pytest.mark.parametrize("name", BAD_SAMPLE)
def test_bad_topology_given_to_exec_changes_nothing(name, clean_system, tlslab_cmd, tmp_path):
    out = tmp_path / "run"
    result = tlslab_cmd("exec", "--out", str(out), f"tests/data/bad/{name}", "client", "--", "true")
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"tlslab: tests/data/bad/{name}:")
    assert not out.exists()


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 130)])
def test_interrupt_tears_the_lab_down(sig, code, clean_system, tmp_path):
    known = set(os.listdir(REGISTRY)) if os.path.isdir(REGISTRY) else set()
    runner = subprocess.Popen(
        [sys.executable, "-m", "lab", "exec", "--out", str(tmp_path / "run"),
         "topologies/routed.yaml", "client", "--", "sleep", "300"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    state = _wait_for_lab_up(known)
    runner.send_signal(sig)
    _, err = runner.communicate(timeout=30)
    assert runner.returncode == code, err
    assert "interrupted; the lab was torn down" in err and "Traceback" not in err
    assert not os.path.exists(f"/run/netns/{state['outer_netns']}")
