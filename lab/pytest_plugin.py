"""pytest plugin: `pytest scenarios/` runs every scenario file, one test item
per matrix cell. A failure shows each failed expectation, expected against
observed, and the run directory to inspect.

Registered through the `pytest11` entry point; it only collects YAML files
inside a directory named `scenarios`.
"""
from __future__ import annotations

import os
import shutil

import pytest


def pytest_addoption(parser):
    group = parser.getgroup("tlslab")
    group.addoption("--tlslab-runs", default="runs",
                    help="directory for scenario run directories (default: runs)")


def pytest_collect_file(parent, file_path):
    if file_path.suffix in (".yaml", ".yml") and "scenarios" in file_path.parts:
        from lab.scenario.loader import is_scenario

        if is_scenario(str(file_path)):
            return ScenarioFile.from_parent(parent, path=file_path)
    return None


class ScenarioFile(pytest.File):
    def collect(self):
        from lab.scenario.loader import load_scenarios

        for scenario in load_scenarios(str(self.path)):
            name = scenario.name + (f"[{scenario.cell_id}]" if scenario.cell_id else "")
            yield ScenarioItem.from_parent(self, name=name, scenario=scenario)


class ScenarioFailed(Exception):
    pass


class ScenarioItem(pytest.Item):
    def __init__(self, *, scenario, **kwargs):
        super().__init__(**kwargs)
        self.scenario = scenario
        self.add_marker(pytest.mark.integration)

    def runtest(self):
        from lab.scenario.run import run_scenario

        if os.geteuid() != 0 or shutil.which("mnexec") is None:
            pytest.skip("scenarios need root and mnexec (scripts/provision.sh)")
        result = run_scenario(self.scenario, base=self.config.getoption("tlslab_runs"))
        if not result.passed:
            raise ScenarioFailed(result)

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, ScenarioFailed):
            result = excinfo.value.args[0]
            lines = [f"scenario {self.name} failed; run directory {result.run_dir}"]
            for chk in result.checked:
                if not chk.passed:
                    lines.append(f"  {chk.subject}.{chk.name}: expected {chk.expected}, "
                                 f"observed {chk.observed}")
            return "\n".join(lines)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, 0, f"scenario {self.name}"
