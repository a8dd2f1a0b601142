"""Settings for the whole suite."""

from __future__ import annotations

import os
from pathlib import Path

# The exported MiniLM int8 model (jotty.memory.embedders_onnx) is kept beside the checkout, not in
# the user's home: a fresh clone exports it once, and every test process and subprocess reuses it.
os.environ.setdefault("JOTTY_CACHE", str(Path(__file__).resolve().parents[1] / ".pytest_cache" / "jotty"))
