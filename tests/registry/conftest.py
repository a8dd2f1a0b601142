"""Registry tests run on SQLite and on PostgreSQL (a schema of their own per test). ``data`` is a
folder of real files of every kind the registry inspects."""

from __future__ import annotations

import json
import sqlite3
import sys
from collections.abc import AsyncIterator
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import pytest  # noqa: E402

from jotty.registry import DataRegistry  # noqa: E402
from tests.runs.conftest import backend, store  # noqa: E402
from tests.support.openai_server import openai_server  # noqa: E402

__all__ = ["backend", "openai_server", "store"]


@pytest.fixture
async def registry(store: str) -> AsyncIterator[DataRegistry]:
    async with DataRegistry(store) as opened:
        yield opened


def make_data(root: Path) -> Path:
    """A folder with a CSV, a JSON list, a JSONL file, an SQLite database, a text file and a nested folder."""
    data = root / "data"
    (data / "weather").mkdir(parents=True)
    (data / "sales_2023.csv").write_text(
        "order_id,region,amount,ordered_on\n1,north,12.5,2023-01-02\n2,south,99,2023-02-03\n3,north,,2023-03-04\n"
    )
    (data / "customers.json").write_text(json.dumps([{"name": "ann", "age": 31}, {"name": "bob", "age": 40}]))
    (data / "weather" / "daily_temperatures.jsonl").write_text(
        '{"city": "Boston", "temp_c": 3.5, "day": "2024-01-01"}\n{"city": "Paris", "temp_c": 8, "day": "2024-01-01"}\n'
    )
    with sqlite3.connect(data / "shop.db") as conn:
        conn.execute("CREATE TABLE products (id INTEGER, title TEXT, price REAL)")
        conn.execute("CREATE TABLE secrets (id INTEGER, token TEXT)")
        conn.executemany("INSERT INTO products VALUES (?, ?, ?)", [(1, "pen", 1.5), (2, "ink", 4.0)])
        conn.execute("INSERT INTO secrets VALUES (1, 'hunter2')")
    conn.close()
    (data / "churn_notes.md").write_text("Notes on the customer churn model.\nSecond line.\n")
    return data


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return make_data(tmp_path)
