"""Test worker processes: ``spawn_module("tests.x.worker", *args)`` runs ``python -m`` from the root."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def spawn_module(module: str, *args: str) -> subprocess.Popen[str]:
    """``python -m module args...`` in the repository root, stdout and stderr piped as text."""
    return subprocess.Popen(
        [sys.executable, "-m", module, *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
