"""``jotty data`` over what the hunt found: a binary source can be shown, rows of mixed shapes are
shown whole, and refused input is one line without a traceback."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.cli.checks import error, ok
from tests.cli.conftest import Jotty, db, jotty

__all__ = ["db", "jotty"]


def test_show_prints_a_binary_source_instead_of_failing(jotty: Jotty, tmp_path: Path) -> None:
    (tmp_path / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    assert "registered logo (file, binary)" in ok(jotty("data", "add", str(tmp_path / "logo.png"), "--name", "logo"))
    out = ok(jotty("data", "show", "logo"))  # failed: "logo is not UTF-8 text: convert it to UTF-8"
    assert "file (binary)" in out and "BINARY file about logo" in out
    assert json.loads(ok(jotty("data", "show", "logo", "--json")))["read"] is None


def test_show_prints_every_row_of_mixed_json(jotty: Jotty, tmp_path: Path) -> None:
    (tmp_path / "mixed.json").write_text(json.dumps([1, {"city": "Oslo"}, "x", None, [1, 2]]))
    ok(jotty("data", "add", str(tmp_path / "mixed.json"), "--name", "mixed"))
    out = ok(jotty("data", "show", "mixed"))
    assert '{"city": "Oslo"}' in out  # the object after a number was shown as an empty cell


def test_a_file_name_that_is_not_utf8_is_a_one_line_error(jotty: Jotty, tmp_path: Path) -> None:
    path = tmp_path / os.fsdecode(b"caf\xe9.csv")
    path.write_text("a\n1\n")
    assert "its path is not UTF-8" in error(jotty("data", "add", str(path)))  # was a UnicodeEncodeError traceback
