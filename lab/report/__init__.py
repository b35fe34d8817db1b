"""The HTML report of a run directory: RUN_DIR/report.html.

    path = write_report("runs/<run>")   # also: tlslab report RUN_DIR
"""
from __future__ import annotations

import glob
import json
import os

from lab.errors import InputError


def write_report(run_dir: str) -> str:
    """Analyse the run's captures and write its self-contained report.html."""
    from lab.inspect.compare import compare_target
    from lab.inspect.target import open_target
    from lab.report.page import render

    if not os.path.isdir(run_dir):
        raise InputError(f"{run_dir}: no such run directory")
    comparisons = []
    if glob.glob(os.path.join(run_dir, "captures", "*.pcap")):
        target = open_target(run_dir)
        result = target.result
        comparisons = compare_target(target, target.default_host())
    else:  # a run that captured nothing still gets its expectations shown
        result = _read_result(run_dir)
    conns = result.get("connections") or [{}]
    client_host, server_host = conns[0].get("client_host"), conns[0].get("server_host")
    cell = ",".join(f"{k}={v}" for k, v in (result.get("cell") or {}).items())
    title = (result.get("scenario") or os.path.basename(os.path.abspath(run_dir))) + \
        (f" [{cell}]" if cell else "")
    html = render(result, title, comparisons, client_host, server_host)
    path = os.path.join(run_dir, "report.html")
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(html)
    os.replace(tmp, path)  # a reader never sees half a report
    return path


def _read_result(run_dir: str) -> dict:
    try:
        with open(os.path.join(run_dir, "result.json")) as fh:
            return json.load(fh)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise InputError(f"{run_dir}/result.json: cannot read: {exc}") from exc
