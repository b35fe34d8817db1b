"""Strict YAML: every value keeps its file:line:col, duplicate keys are errors.

PyYAML's composer gives nodes with marks; we keep those nodes and read them
with `Reader`, so every later error can name the exact place in the file.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import yaml

from lab.errors import InputError, Location

# A topology or scenario is hand-written; anything this large is a mistake
# (or garbage) and would only make the parser slow.
MAX_FILE_BYTES = 1024 * 1024

_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_NULL = "tag:yaml.org,2002:null"
_STR = "tag:yaml.org,2002:str"


def location(path: str, node: yaml.Node) -> Location:
    mark = node.start_mark
    return Location(path, mark.line + 1, mark.column + 1)


def read_text(path: str) -> str:
    """Read a YAML file with the checks that come before parsing."""
    try:
        size = os.path.getsize(path)
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror}; check the path",
                         Location(path, 1)) from None
    if os.path.isdir(path):
        raise InputError("is a directory; give a YAML file", Location(path, 1))
    if size > MAX_FILE_BYTES:
        raise InputError(
            f"file is {size // 1024} KiB; tlslab YAML files are limited to "
            f"{MAX_FILE_BYTES // 1024} KiB", Location(path, 1))
    with open(path, "rb") as fh:
        raw = fh.read()
    if b"\x00" in raw:
        line = raw[: raw.index(b"\x00")].count(b"\n") + 1
        raise InputError("binary data (NUL byte); expected a YAML text file",
                         Location(path, line))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError("not UTF-8 text; expected a YAML text file",
                         Location(path, line)) from None


def compose(path: str, text: str | None = None) -> yaml.Node:
    """Parse one YAML document into a node tree, or raise InputError."""
    if text is None:
        text = read_text(path)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        where = Location(path, mark.line + 1, mark.column + 1) if mark else Location(path, 1)
        raise InputError(f"YAML syntax error: {problem}", where) from None
    except yaml.YAMLError as exc:
        raise InputError(f"YAML error: {exc}", Location(path, 1)) from None
    if node is None:
        raise InputError("file is empty; expected a mapping of settings", Location(path, 1))
    return node


@dataclass(frozen=True)
class Reader:
    """Typed, strict access to one YAML node."""

    path: str
    node: yaml.Node

    @property
    def where(self) -> Location:
        return location(self.path, self.node)

    def error(self, message: str) -> InputError:
        return InputError(message, self.where)

    # --- kinds of node -------------------------------------------------
    def is_mapping(self) -> bool:
        return isinstance(self.node, yaml.MappingNode)

    def is_sequence(self) -> bool:
        return isinstance(self.node, yaml.SequenceNode)

    def is_scalar(self) -> bool:
        return isinstance(self.node, yaml.ScalarNode)

    def mapping(self, what: str, allowed: set[str] | None = None) -> dict[str, "Reader"]:
        """The node as an ordered mapping of string keys; unknown keys are errors."""
        if not self.is_mapping():
            raise self.error(f"{what} must be a mapping, not {self.kind_name()}")
        out: dict[str, Reader] = {}
        for key_node, value_node in self.node.value:
            key = Reader(self.path, key_node)
            if not key.is_scalar() or key_node.tag != _STR:
                raise key.error(f"keys in {what} must be strings")
            name = key_node.value
            if name in out:
                raise key.error(f"duplicate key '{name}' in {what}")
            if allowed is not None and name not in allowed:
                known = ", ".join(sorted(allowed))
                raise key.error(f"unknown key '{name}' in {what}; known keys: {known}")
            out[name] = Reader(self.path, value_node)
        return out

    def sequence(self, what: str) -> list["Reader"]:
        if not self.is_sequence():
            raise self.error(f"{what} must be a list, not {self.kind_name()}")
        return [Reader(self.path, n) for n in self.node.value]

    def plain(self) -> Any:
        """The node as plain Python data (dicts, lists, scalars)."""
        return yaml.SafeLoader("").construct_object(self.node, deep=True)

    # --- scalars -------------------------------------------------------
    def scalar(self) -> Any:
        """The plain Python value of a scalar, resolved as YAML 1.1 would."""
        if not self.is_scalar():
            raise self.error(f"expected a single value, not {self.kind_name()}")
        return yaml.SafeLoader("").construct_object(self.node, deep=True)

    def string(self, what: str) -> str:
        if not self.is_scalar() or self.node.tag not in (_STR, _INT, _FLOAT):
            raise self.error(f"{what} must be a string, not {self.kind_name()}")
        return str(self.node.value)

    def text(self, what: str) -> str:
        """A value that must be written as text (not a number or boolean)."""
        if not self.is_scalar() or self.node.tag != _STR:
            raise self.error(f"{what} must be a string, not {self.kind_name()}")
        return self.node.value

    def boolean(self, what: str) -> bool:
        if not self.is_scalar() or self.node.tag != _BOOL:
            raise self.error(f"{what} must be true or false, not {self.kind_name()}")
        return self.node.value.lower() in ("true", "yes", "on", "y")

    def integer(self, what: str, minimum: int | None = None) -> int:
        if not self.is_scalar() or self.node.tag != _INT:
            raise self.error(f"{what} must be a whole number, not {self.kind_name()}")
        value = int(self.node.value.replace("_", ""), 0)
        if minimum is not None and value < minimum:
            raise self.error(f"{what} must be at least {minimum}, not {value}")
        return value

    def kind_name(self) -> str:
        if self.is_mapping():
            return "a mapping"
        if self.is_sequence():
            return "a list"
        return {
            _BOOL: f"boolean {self.node.value}",
            _INT: f"number {self.node.value}",
            _FLOAT: f"number {self.node.value}",
            _NULL: "an empty value",
        }.get(self.node.tag, f"'{self.node.value}'")

