"""Every error tlslab reports to a user, and the exit code each maps to.

The CLI turns these into exit codes in one place (lab.cli.main); nothing else
calls sys.exit.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass


class ExitStatus(enum.IntEnum):
    OK = 0
    EXPECTATION_FAILED = 1
    BAD_INPUT = 2
    LAB_FAILURE = 3
    INTERRUPTED = 130


@dataclass(frozen=True)
class Location:
    """A place in an input file, 1-based, as editors count."""

    file: str
    line: int
    col: int = 0

    def __str__(self) -> str:
        if self.col:
            return f"{self.file}:{self.line}:{self.col}"
        return f"{self.file}:{self.line}"


class LabError(Exception):
    """Base of all errors that reach the user as one line."""

    exit_status = ExitStatus.LAB_FAILURE

    def __init__(self, message: str, where: Location | None = None):
        super().__init__(message)
        self.message = message
        self.where = where

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class InputError(LabError):
    """Bad YAML, CLI arguments or files: the user must change their input."""

    exit_status = ExitStatus.BAD_INPUT


class EnvironmentProblem(LabError):
    """The machine lacks something (root, a tool, a kernel feature)."""

    exit_status = ExitStatus.LAB_FAILURE


class LabFailure(LabError):
    """The lab itself failed while being built, run or torn down."""

    exit_status = ExitStatus.LAB_FAILURE


class ExpectationFailed(LabError):
    exit_status = ExitStatus.EXPECTATION_FAILED
