"""`tlslab inspect` and `tlslab report`: read a run directory (or a capture)
after the fact. Neither needs root or a lab."""
from __future__ import annotations

from lab.errors import ExitStatus, InputError


def register(sub) -> None:
    p = sub.add_parser("inspect", help="packet and TLS timeline of each connection in a run "
                       "directory or capture, decrypted where keys allow (no root needed)")
    p.add_argument("target", metavar="RUN_DIR|PCAP")
    p.add_argument("--host", metavar="H",
                   help="whose capture to read (default: the first client host in result.json)")
    p.add_argument("--conn", type=int, metavar="N",
                   help="only the host's connection N (0-based, in capture order)")
    p.add_argument("--keylog", metavar="FILE", help="NSS key log (default: RUN_DIR/keys/"
                   "all.keylog, or the capture's sibling NAME.keys / NAME.keylog)")
    p.add_argument("--key", action="append", default=[], metavar="PEM",
                   help="a server RSA private key, for RSA key exchange (repeatable; "
                        "RUN_DIR/certs/*.key are always tried)")
    p.add_argument("--json", action="store_true", help="print the analysis as JSON")
    p.add_argument("--compare", action="store_true",
                   help="line the connection up as every host that captured it saw it")
    p.set_defaults(run=cmd_inspect)

    p = sub.add_parser("report", help="(re)write RUN_DIR/report.html: ladder diagrams, "
                       "packet tables, expectations and link figures")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.set_defaults(run=cmd_report)


def cmd_inspect(args, env) -> int:
    from lab.inspect.compare import compare_target
    from lab.inspect.jsonout import to_json
    from lab.inspect.target import host_views, open_target
    from lab.inspect.text import render_comparisons, render_views

    if args.conn is not None and args.conn < 0:
        raise InputError(f"--conn must be 0 or more, got {args.conn}")
    target = open_target(args.target, args.keylog, tuple(args.key))
    host = args.host or target.default_host()
    target.captures_of(host)  # an unknown host fails here, naming the known ones
    if args.compare:
        if len(target.captures) < 2:
            raise InputError("--compare needs a run directory with more than one capture")
        result = compare_target(target, host, args.conn)
        env.out(to_json(result) if args.json else render_comparisons(result, env.color))
        return ExitStatus.OK
    views = host_views(target, host, args.conn)
    if args.json:
        env.out(to_json(views))
    elif not views:
        env.out(f"{host}: no TCP connections in {', '.join(c.path for c in target.captures_of(host))}")
    else:
        env.out(render_views(views, env.color))
    return ExitStatus.OK


def cmd_report(args, env) -> int:
    from lab.report import write_report

    env.out(f"wrote {write_report(args.run_dir)}")
    return ExitStatus.OK
