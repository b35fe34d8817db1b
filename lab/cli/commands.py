"""The subcommands. Each `cmd_*` takes parsed args and an Environment and
returns an exit status; errors are raised as LabError and mapped in main()."""
from __future__ import annotations

import os

from lab.errors import ExitStatus, LabError


def register(sub) -> None:
    p = sub.add_parser("validate", help="check topology files (no root needed)")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.set_defaults(run=cmd_validate)

    p = sub.add_parser("run", help="run scenario files; exit 1 if an expectation fails")
    p.add_argument("scenarios", nargs="+", metavar="SCENARIO")
    p.add_argument("--out", metavar="DIR", default="runs", help="where run directories go (runs)")
    p.add_argument("--seed", type=int, help="seed for the impairment relay (default: the scenario's)")
    p.add_argument("--engine", choices=("netem", "relay"), help="force the impairment engine")
    p.add_argument("--json", action="store_true", help="print result.json of each run")
    p.add_argument("-k", dest="pattern", metavar="PATTERN",
                   help="only matrix cells whose name or cell id contains PATTERN")
    p.add_argument("--keep-up", action="store_true",
                   help="after the steps, leave the lab up in Mininet's CLI")
    p.set_defaults(run=cmd_run)

    p = sub.add_parser("up", help="bring a lab up in Mininet's CLI; tear down on exit")
    p.add_argument("topology", metavar="TOPOLOGY")
    p.add_argument("--out", metavar="DIR", help="run directory (default runs/<time>-<name>)")
    _lab_options(p)
    p.set_defaults(run=cmd_up)

    p = sub.add_parser("exec", help="run one command on a host of a fresh lab")
    p.add_argument("topology", metavar="TOPOLOGY")
    p.add_argument("host", metavar="HOST")
    p.add_argument("argv", nargs="+", metavar="CMD", help="the command, after --")
    p.add_argument("--out", metavar="DIR", help="run directory (default runs/<time>-<name>)")
    _lab_options(p)
    p.set_defaults(run=cmd_exec)

    p = sub.add_parser("ping", help="bring a lab up, ping every pair that should reach, tear down")
    p.add_argument("topology", metavar="TOPOLOGY")
    p.add_argument("--out", metavar="DIR", help="run directory (default runs/<time>-<name>)")
    _lab_options(p)
    p.set_defaults(run=cmd_ping)

    p = sub.add_parser("links", help="show a topology's links; --verify measures them in a fresh lab")
    p.add_argument("topology", metavar="TOPOLOGY")
    p.add_argument("--verify", action="store_true", help="bring the lab up and measure every impaired link")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--probes", type=int, default=2000, help="UDP probes per link (2000)")
    p.add_argument("--out", metavar="DIR", help="run directory (default runs/<time>-<name>)")
    _lab_options(p)
    p.set_defaults(run=cmd_links)

    p = sub.add_parser("doctor", help="report kernel features, tools and engines")
    p.set_defaults(run=cmd_doctor)

    p = sub.add_parser("clean", help="remove what crashed runs left behind")
    p.set_defaults(run=cmd_clean)

    from lab.cli.inspect_cmd import register as register_inspect

    register_inspect(sub)

    p = sub.add_parser("pki", help="certificates: show what a PEM file holds")
    pki = p.add_subparsers(dest="pki_command", metavar="ACTION")
    pki.required = True
    show = pki.add_parser("show", help="print subject, issuer, validity, key, SANs, fingerprint")
    show.add_argument("files", nargs="+", metavar="FILE")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(run=cmd_pki_show)


def _lab_options(p) -> None:
    p.add_argument("--engine", choices=("netem", "relay"),
                   help="force the impairment engine (default: netem where the kernel has it)")
    p.add_argument("--seed", type=int, default=1, help="seed for the relay's randomness (1)")


def _lab(topo, args):
    from lab.net.lab import Lab

    return Lab(topo, run_dir=args.out, engine=args.engine, seed=args.seed)


def _load(path: str):
    from lab.config.topology import load_topology

    return load_topology(path)


def _require_host(topo, name: str) -> None:
    from lab.errors import InputError
    from lab.kinds import get_kind

    hosts = [n.name for n in topo.nodes if not get_kind(n.kind).is_switch]
    if name not in hosts:
        raise InputError(f"no host '{name}' in topology '{topo.name}' ({topo.path}); "
                         f"hosts: {', '.join(hosts)}")


def cmd_validate(args, env) -> int:
    from lab.scenario.loader import is_scenario, load_scenarios

    status = ExitStatus.OK
    for path in args.files:
        try:
            if is_scenario(path):
                cells = load_scenarios(path)
                env.out(f"{path}: ok (scenario '{cells[0].name}': {len(cells)} matrix cell(s), "
                        f"{len(cells[0].clients)} client(s), {len(cells[0].expectations)} "
                        "expectation(s))")
                continue
            topo = _load(path)
        except LabError as exc:
            env.err(f"tlslab: {exc}")
            status = exc.exit_status
            continue
        env.out(f"{path}: ok (topology '{topo.name}': {len(topo.nodes)} nodes, "
                f"{len(topo.links)} links, {len(topo.reach)} reachable pairs checked)")
    return status


def cmd_run(args, env) -> int:
    import json

    from lab.scenario.loader import load_scenarios
    from lab.scenario.run import run_scenario
    from lab.scenario.summary import render

    cells = [s for path in args.scenarios for s in load_scenarios(path)]
    if args.pattern:
        cells = [s for s in cells if args.pattern in f"{s.name}[{s.cell_id}]"]
        if not cells:
            from lab.errors import InputError
            raise InputError(f"-k {args.pattern!r} matches no scenario or matrix cell")
    failed = 0
    leave_up = None
    if args.keep_up:
        from mininet.cli import CLI

        def leave_up(lab):
            env.out(f"lab '{lab.topology.name}' left up after the steps; 'exit' tears it down")
            CLI(lab.net)
    for n, scenario in enumerate(cells, start=1):
        label = f"[{n}/{len(cells)}] {scenario.name}" + (f" [{scenario.cell_id}]" if scenario.cell_id else "")

        def progress(msg, label=label):
            env.err(f"{label}: {msg}")

        result = run_scenario(scenario, base=args.out, seed=args.seed, engine=args.engine,
                              progress=progress, keep_up=leave_up)
        failed += not result.passed
        env.out(json.dumps(result.data, indent=2, default=str) if args.json
                else render(result, env.color))
    if len(cells) > 1:
        env.out(f"{len(cells) - failed} of {len(cells)} scenario runs passed")
    return ExitStatus.EXPECTATION_FAILED if failed else ExitStatus.OK


def cmd_up(args, env) -> int:
    from mininet.cli import CLI

    topo = _load(args.topology)
    with _lab(topo, args) as lab:
        env.out(f"lab '{topo.name}' is up (run directory {lab.run_dir}); "
                "type 'exit' to tear it down")
        CLI(lab.net)
    env.out("lab torn down")
    return ExitStatus.OK


def cmd_exec(args, env) -> int:
    topo = _load(args.topology)
    _require_host(topo, args.host)
    argv = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
    with _lab(topo, args) as lab:
        host = lab.host(args.host)
        proc = host.popen(argv, stdout=env.stdout, stderr=env.stderr)
        code = proc.wait()
    if code != 0:
        env.err(f"tlslab: '{' '.join(argv)}' on {args.host} exited with status {code}")
        return ExitStatus.EXPECTATION_FAILED
    return ExitStatus.OK


def cmd_ping(args, env) -> int:
    from lab.net.reach import ping_pairs

    topo = _load(args.topology)
    with _lab(topo, args) as lab:
        env.out(f"lab '{topo.name}' up in {lab.run_dir}")
        results = ping_pairs(lab, topo.reach, count=5, interval=0.2)
    failed = [r for r in results if not r.ok]
    for r in results:
        env.out(f"  {r.src:>10} -> {r.dst:<10} {r.address:<15} "
                f"{'ok' if r.ok else 'FAILED'}{f'  rtt {r.rtt_ms:.3f} ms' if r.ok else ''}")
    env.out(f"{len(results) - len(failed)} of {len(results)} pairs reached each other; "
            "lab torn down")
    return ExitStatus.EXPECTATION_FAILED if failed else ExitStatus.OK


def cmd_links(args, env) -> int:
    import json

    from lab.net.links import plan_links
    from lab.net.verify import render, verify_links

    topo = _load(args.topology)
    if not args.verify:
        plans = plan_links(topo, args.engine)
        rows = [{"link": p.label, "engine": p.engine or "wire",
                 "impairments": [i.to_json() for i in p.link.impairments],
                 "faults": list(p.link.faults)} for p in plans]
        env.out(json.dumps(rows, indent=2) if args.json else "\n".join(
            f"{r['link']}: {r['engine']}" for r in rows))
        return ExitStatus.OK
    with _lab(topo, args) as lab:
        results = verify_links(lab, probes=args.probes)
    env.out(json.dumps(results, indent=2) if args.json else render(results))
    failed = [c for r in results for c in r.get("checks", []) if not c["passed"]]
    return ExitStatus.EXPECTATION_FAILED if failed or any("error" in r for r in results) else ExitStatus.OK


def cmd_doctor(args, env) -> int:
    from lab.doctor import diagnose, render

    report = diagnose()
    env.out(render(report))
    return ExitStatus.OK if report.can_run else ExitStatus.LAB_FAILURE


def cmd_clean(args, env) -> int:
    from lab.net.state import registered
    from lab.net.teardown import teardown

    if os.geteuid() != 0:
        from lab.errors import EnvironmentProblem
        raise EnvironmentProblem("tlslab clean needs root; run it with sudo or as root")
    cleaned = 0
    for state in registered():
        if state.owner.alive():
            env.out(f"lab {state.lab_id} ({state.topology}) is still running "
                    f"(pid {state.owner.pid}); left alone")
            continue
        problems = teardown(state)
        cleaned += 1
        env.out(f"removed lab {state.lab_id} ({state.topology}, namespace "
                f"{state.outer_netns}, {len(state.shells)} host shells)")
        for problem in problems:
            env.err(f"tlslab: {problem}")
    env.out(f"{cleaned} lab(s) cleaned")
    return ExitStatus.OK


def cmd_pki_show(args, env) -> int:
    import json

    from lab.pki.show import describe, describe_dict

    if args.json:
        env.out(json.dumps([describe_dict(f) for f in args.files], indent=2))
    else:
        env.out("\n\n".join(describe(f) for f in args.files))
    return ExitStatus.OK
