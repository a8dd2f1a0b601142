"""The demo's Markdown report says each count in the singular for one: "1 commit by 1 author"."""

from __future__ import annotations

from pathlib import Path

from jotty.demo.analysis import write_report


def test_the_report_says_one_of_each_in_the_singular(tmp_path: Path) -> None:
    langs = {"files": 1, "by_type": [("py", 1, 12)]}
    history = {"commits": 1, "authors": 1, "hot": [("app.py", 1)]}
    report = Path(write_report(tmp_path, tmp_path / "report.md", [langs, history, {"total": 1}, None])).read_text()
    assert "1 tracked file." in report
    assert "1 commit by 1 author. Most changed:" in report  # it said "1 commits by 1 author(s)"
    assert "- `app.py`: 1 line changed" in report
    assert "1 open TODO/FIXME marker." in report

    history = {"commits": 12, "authors": 3, "hot": [("app.py", 40)]}
    many = [{"files": 2, "by_type": []}, history, {"total": 2}, {"tool": "cloc", "code_lines": 1}]
    report = Path(write_report(tmp_path, tmp_path / "report.md", many)).read_text()
    assert "2 tracked files." in report and "12 commits by 3 authors. Most changed:" in report
    assert "40 lines changed" in report and "2 open TODO/FIXME markers." in report
    assert "Code size: 1 line (cloc)." in report
