"""Assertions on ``jotty`` command results."""

from __future__ import annotations

from click.testing import Result


def ok(result: Result) -> str:
    """The stdout of a command that must have succeeded."""
    assert result.exit_code == 0, (result.exit_code, result.output, result.exception)
    return result.stdout


def error(result: Result) -> str:
    """The one-line error of a command that must have failed cleanly (exit 1, no traceback)."""
    assert result.exit_code == 1, (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    return result.stderr
