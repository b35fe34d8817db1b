"""`tlslab` entry point: parse arguments, run one command, map errors to exit codes.

Like httpie's main(args, env) -> ExitStatus: every LabError becomes its exit
code here, and no traceback reaches the user unless --debug is given.
"""
from __future__ import annotations

import argparse
import signal
import sys
import traceback
from dataclasses import dataclass, field
from typing import TextIO

from lab import __version__
from lab.errors import ExitStatus, InputError, LabError


@dataclass
class Environment:
    """The streams a command talks to; tests swap them."""

    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)

    @property
    def color(self) -> bool:
        return self.stdout.isatty()

    def out(self, text: str = "") -> None:
        print(text, file=self.stdout, flush=True)

    def err(self, text: str) -> None:
        print(text, file=self.stderr, flush=True)


class ArgumentError(InputError):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so errors leave through main()."""

    def error(self, message: str):
        raise ArgumentError(f"{message} (see '{self.prog} --help')")


def build_parser() -> argparse.ArgumentParser:
    from lab.cli import commands

    parser = _Parser(prog="tlslab", description="Multi-host TLS scenarios on real virtual networks.")
    parser.add_argument("--version", action="version", version=f"tlslab {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    commands.register(sub)
    from lab.cli.interop_cmd import register_interop

    register_interop(sub)
    return parser


def main(argv: list[str] | None = None, env: Environment | None = None) -> ExitStatus:
    env = env or Environment()
    argv = sys.argv[1:] if argv is None else argv
    # --debug is accepted anywhere before a `--` (after it, argv is a command's own).
    end = argv.index("--") if "--" in argv else len(argv)
    debug = "--debug" in argv[:end]
    argv = [a for a in argv[:end] if a != "--debug"] + argv[end:]
    try:
        args = build_parser().parse_args(argv)
        return ExitStatus(args.run(args, env))
    except LabError as exc:
        if debug:
            traceback.print_exc(file=env.stderr)
        env.err(f"tlslab: {exc}")
        return exc.exit_status
    except KeyboardInterrupt:
        env.err("tlslab: interrupted; the lab was torn down")
        return ExitStatus.INTERRUPTED
    except SystemExit as exc:  # --help and --version
        return ExitStatus(exc.code or 0)
    except Exception as exc:  # a bug in tlslab: the lab was torn down on the way out
        if debug:
            traceback.print_exc(file=env.stderr)
        env.err(f"tlslab: internal error: {type(exc).__name__}: {exc} "
                "(run again with --debug for the traceback)")
        return ExitStatus.LAB_FAILURE


def _terminate_as_interrupt(signum, frame):
    # SIGTERM (e.g. from a CI timeout) tears the lab down like Ctrl-C does.
    raise KeyboardInterrupt


def entry() -> None:
    signal.signal(signal.SIGTERM, _terminate_as_interrupt)
    sys.exit(int(main()))
