"""The git repository the demo analyses: the current checkout, or a small one it builds."""

from __future__ import annotations

import subprocess
from pathlib import Path

SAMPLE_FILES = {
    "README.md": "# Inventory service\n\nTracks stock levels.\n",
    "inventory/__init__.py": "",
    "inventory/stock.py": (
        "class Stock:\n    def __init__(self):\n        self.items = {}\n\n"
        "    def add(self, sku, n):\n        # TODO: reject negative counts\n"
        "        self.items[sku] = self.items.get(sku, 0) + n\n\n"
        "    def level(self, sku):\n        return self.items.get(sku, 0)\n"
    ),
    "inventory/report.py": "def render(stock):\n    return '\\n'.join(f'{k}: {v}' for k, v in stock.items.items())\n",
    "tests/test_stock.py": (
        "from inventory.stock import Stock\n\ndef test_add():\n    s = Stock()\n    s.add('a', 2)\n"
        "    assert s.level('a') == 2\n\ndef test_missing():\n    assert Stock().level('x') == 0\n"
    ),
    "docs/usage.md": "Run `python -m inventory`.\n",
    "scripts/release.sh": '#!/bin/sh\nset -e\ngit tag "$1"\n',
}


def git(repo: Path, *args: str) -> str:
    """Run git in ``repo`` and return its output."""
    done = subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True)
    return done.stdout


def is_repository(path: Path) -> bool:
    """Whether ``path`` is inside a git work tree with at least one commit."""
    try:
        git(path, "rev-parse", "--verify", "HEAD")
    except (subprocess.CalledProcessError, FileNotFoundError, NotADirectoryError):
        return False
    return True


def sample_repository(path: Path) -> Path:
    """Build a small repository with a few commits by two authors (once)."""
    if is_repository(path):
        return path
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    authors = [("Ada", "ada@example.com"), ("Lin", "lin@example.com")]
    for i, (name, content) in enumerate(SAMPLE_FILES.items()):
        file = path / name
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(content)
        author, email = authors[i % 2]
        git(path, "add", name)
        git(path, "-c", f"user.name={author}", "-c", f"user.email={email}", "commit", "-q", "-m", f"Add {name}")
    return path


def choose_repository(preferred: Path, sample_dir: Path) -> tuple[Path, bool]:
    """The repository to analyse: ``preferred`` if it is one, else the sample (True when sample)."""
    if is_repository(preferred):
        return Path(git(preferred, "rev-parse", "--show-toplevel").strip()), False
    return sample_repository(sample_dir), True
