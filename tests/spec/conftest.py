"""Fixtures for the flow definition tests: a directory with ``tools.py`` beside the flow files."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

TOOLS = Path(__file__).with_name("flowtools.py")

WriteFlow = Callable[..., Path]


def make_flow_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory holding ``tools.py`` (a copy of flowtools.py); side effects go to ``side.txt``
    beside it, and no step is blocked or broken."""
    directory = tmp_path / "flows"
    directory.mkdir()
    shutil.copy(TOOLS, directory / "tools.py")
    monkeypatch.setenv("FLOW_SIDE_EFFECTS", str(tmp_path / "side.txt"))
    for name in ("FLOW_BLOCK", "FLOW_BROKEN"):
        monkeypatch.delenv(name, raising=False)
    return directory


@pytest.fixture
def flow_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """See ``make_flow_dir``."""
    return make_flow_dir(tmp_path, monkeypatch)


@pytest.fixture
def write_flow(flow_dir: Path) -> WriteFlow:
    """``write_flow(text, name="flow.yaml")`` writes a definition beside tools.py and returns its path."""

    def write(text: str, name: str = "flow.yaml") -> Path:
        path = flow_dir / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


def side_effects(flow_dir: Path) -> list[str]:
    """The names the counted steps logged, in order."""
    path = flow_dir.parent / "side.txt"
    return path.read_text(encoding="utf-8").split() if path.exists() else []
