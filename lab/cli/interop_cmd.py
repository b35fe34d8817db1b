"""`tlslab interop`: every client against every server for every variant, and
every client against every spoofed certificate, in one lab. Prints the
tables and findings, writes <run>/results.json and <run>/interop.md, and for
a full run (no -k) docs/interop.md."""
from __future__ import annotations

import json
import os
import time

from lab.errors import ExitStatus, InputError
from lab.tls.interop_lab import CLIENT_HOST, DEFAULT_TIMEOUT, DEFAULT_WORKERS, SERVER_HOST

DEFAULT_TOPOLOGY = "topologies/lan.yaml"
DEFAULT_DOC = "docs/interop.md"


def register_interop(sub) -> None:
    p = sub.add_parser("interop", help="every TLS client against every server and spoofed "
                       "certificate in one lab; writes docs/interop.md")
    p.add_argument("--topology", metavar="TOPOLOGY", default=DEFAULT_TOPOLOGY,
                   help=f"servers run on its '{SERVER_HOST}' host, clients on '{CLIENT_HOST}' "
                        f"({DEFAULT_TOPOLOGY})")
    p.add_argument("--out", metavar="DIR", help="run directory (default runs/<time>-interop)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("-k", dest="pattern", metavar="PATTERN",
                   help="only cells whose name contains PATTERN (e.g. tls13, openssl-to-gnutls, "
                        "spoof-no-san); a filtered run leaves docs/interop.md alone")
    p.add_argument("--doc", metavar="FILE",
                   help=f"write the report here too (default: {DEFAULT_DOC} for an unfiltered run)")
    p.add_argument("--workers", type=int, default=DEFAULT_WORKERS, metavar="N",
                   help=f"servers running at once ({DEFAULT_WORKERS})")
    p.set_defaults(run=cmd_interop)


def cmd_interop(args, env) -> int:
    from lab.config.topology import load_topology
    from lab.net.lab import default_run_dir
    from lab.tls import registry
    from lab.tls.interop import expand
    from lab.tls.interop_lab import run_interop, tool_versions
    from lab.tls.interop_plan import select
    from lab.tls.interop_report import RunInfo, counts, passed, render_document, render_tables, to_json
    from lab.tls.interop_spoof import expand_spoofs
    from lab.tls.variants import VARIANTS

    if args.workers < 1:
        raise InputError(f"--workers must be at least 1, got {args.workers}")
    topology = load_topology(args.topology)
    clients, servers = registry.with_role("client"), registry.with_role("server")
    cells = select(expand(clients, servers, list(VARIANTS)), args.pattern)
    spoofs = select(expand_spoofs(clients), args.pattern)
    if not cells and not spoofs:
        raise InputError(f"-k {args.pattern!r} matches no interop cell")
    run_dir = os.path.abspath(args.out or default_run_dir("interop"))

    def progress(msg: str) -> None:
        if not msg.endswith((": ok", ": unsupported", ": finding")):
            env.err(f"interop: {msg}")

    run = run_interop(topology, run_dir, cells, spoofs, workers=args.workers,
                      timeout=DEFAULT_TIMEOUT, progress=progress)
    command = f"sudo .venv/bin/tlslab interop --topology {args.topology}"
    command += f" -k {args.pattern}" if args.pattern else ""
    info = RunInfo(command=command, topology=topology.name, server_host=SERVER_HOST,
                   client_host=CLIENT_HOST, elapsed=run.elapsed,
                   date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                   versions=tool_versions())
    doc = render_document(info, run.results, run.spoofs)
    data = to_json(run.results, run.spoofs)
    with open(os.path.join(run_dir, "results.json"), "w") as fh:
        json.dump(data, fh, indent=2)
    with open(os.path.join(run_dir, "interop.md"), "w") as fh:
        fh.write(doc)
    doc_path = args.doc or (None if args.pattern else DEFAULT_DOC)
    if doc_path:
        os.makedirs(os.path.dirname(os.path.abspath(doc_path)), exist_ok=True)
        with open(doc_path, "w") as fh:
            fh.write(doc)
    if args.json:
        env.out(json.dumps(data, indent=2))
    else:
        env.out(render_tables(run.results, run.spoofs))
        env.out(f"{len(run.results) + len(run.spoofs)} cells: {counts(run.results, run.spoofs)}; "
                f"{run.elapsed:.1f} s; run directory {run_dir}"
                + (f"; report written to {doc_path}" if doc_path else ""))
    ok = passed(run.results, run.spoofs)
    return ExitStatus.OK if ok else ExitStatus.EXPECTATION_FAILED
