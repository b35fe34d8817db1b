"""`tlslab interop` argument handling; nothing here needs root or builds a lab."""
import io

import pytest

from lab.cli.interop_cmd import DEFAULT_DOC, DEFAULT_TOPOLOGY, register_interop
from lab.cli.main import Environment, _Parser
from lab.errors import InputError


def parse(*argv):
    parser = _Parser(prog="tlslab")
    register_interop(parser.add_subparsers(dest="command", parser_class=_Parser))
    return parser.parse_args(["interop", *argv])


def test_defaults():
    args = parse()
    assert (args.topology, args.json, args.pattern, args.doc, args.out) == (
        DEFAULT_TOPOLOGY, False, None, None, None)
    assert DEFAULT_DOC == "docs/interop.md" and args.workers >= 1


def test_options():
    args = parse("--json", "--topology", "t.yaml", "--out", "d", "-k", "tls13", "--workers", "2")
    assert (args.json, args.topology, args.out, args.pattern, args.workers) == (True, "t.yaml", "d", "tls13", 2)


@pytest.mark.parametrize("argv, message", [
    (["-k", "no-such-cell"], "matches no interop cell"),
    (["--workers", "0"], "--workers must be at least 1"),
])
def test_bad_input_stops_before_any_lab(argv, message, monkeypatch):
    monkeypatch.chdir(__import__("pathlib").Path(__file__).resolve().parents[2])
    args = parse(*argv)
    with pytest.raises(InputError, match=message):
        args.run(args, Environment(io.StringIO(), io.StringIO()))
