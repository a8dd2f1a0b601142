"""Column profiles: each column's type (inferred from text cells or JSON values) and statistics."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

_INT = re.compile(r"^[+-]?\d+$")
_FLOAT = re.compile(r"^[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
_BOOL = {"true", "false", "yes", "no"}
_RANK = {"integer": 1, "number": 2}
DISTINCT_CAP = 1_000


def cell_type(value: Any) -> str | None:
    """The type of one cell: integer, number, boolean, date, datetime, text, array, object (None if empty)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):  # JSON's NaN and Infinity (not JSON to anyone else) count as missing
        return "number" if math.isfinite(value) else None
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    text = str(value).strip()
    if _INT.match(text):
        return "integer"
    if _FLOAT.match(text):
        return "number"
    if text.lower() in _BOOL:
        return "boolean"
    if _DATE.match(text):
        return "date"
    if _DATETIME.match(text):
        return "datetime"
    return "text"


def merge(first: str | None, second: str | None) -> str | None:
    """The narrowest type holding both (integer and number make number; other mixes make text)."""
    if first is None or first == second:
        return second
    if second is None:
        return first
    if first in _RANK and second in _RANK:
        return "number"
    if {first, second} == {"date", "datetime"}:
        return "datetime"
    return "text"


@dataclass
class Column:
    """One column's running profile."""

    type: str | None = None
    nulls: int = 0
    low: Any = None
    high: Any = None
    total: float = 0.0
    numbers: int = 0
    distinct: set[str] = field(default_factory=set)
    more: bool = False

    def add(self, value: Any) -> None:
        kind = cell_type(value)
        if kind is None:
            self.nulls += 1
            return
        self.type = merge(self.type, kind)
        number = float(value) if kind in _RANK else 0.0
        if kind in _RANK and math.isfinite(number):  # "1e400" or 400 digits: no float holds it, left out
            self.total += number
            self.numbers += 1
        key = str(value)[:200]
        if len(self.distinct) < DISTINCT_CAP:
            self.distinct.add(key)
        elif key not in self.distinct:
            self.more = True
        if kind in _RANK and not math.isfinite(number):
            return
        if kind in ("integer", "number", "date", "datetime", "text"):
            comparable: Any = float(value) if kind in _RANK else key
            if self.low is None or _lt(comparable, self.low):
                self.low = comparable
            if self.high is None or _lt(self.high, comparable):
                self.high = comparable

    def stats(self) -> dict[str, Any]:
        out: dict[str, Any] = {"nulls": self.nulls, "distinct": len(self.distinct)}
        if self.more:
            out["distinct"] = f"{DISTINCT_CAP}+"
        if self.type in _RANK and self.numbers:
            out.update(min=_plain(self.low), max=_plain(self.high))
            if math.isfinite(self.total):  # finite values can still add up past a float's range
                out["mean"] = round(self.total / self.numbers, 4)
        elif self.type in ("date", "datetime"):
            out.update(min=self.low, max=self.high)
        elif self.type == "text" and not self.more and len(self.distinct) <= 12:
            out["values"] = sorted(self.distinct)
        return out


def _lt(first: Any, second: Any) -> bool:
    try:
        return bool(first < second)
    except TypeError:
        return str(first) < str(second)


def _plain(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


class Profile:
    """Profiles of every column of rows (dicts), in first-seen order."""

    def __init__(self, order: list[str]) -> None:
        self.columns: dict[str, Column] = {name: Column() for name in order}
        self.rows = 0

    def add(self, row: dict[str, Any]) -> None:
        self.rows += 1
        for name, value in row.items():
            column = self.columns.get(name)
            if column is None:
                column = self.columns[name] = Column(nulls=self.rows - 1)
            column.add(value)
        for name, column in self.columns.items():
            if name not in row:
                column.nulls += 1

    def schema(self) -> list[dict[str, Any]]:
        """``[{"name", "type"}]`` (a column with no values is ``null``)."""
        return [{"name": name, "type": column.type or "null"} for name, column in self.columns.items()]

    def stats(self) -> dict[str, Any]:
        """Row count and per-column statistics."""
        return {"rows": self.rows, "columns": {name: column.stats() for name, column in self.columns.items()}}
