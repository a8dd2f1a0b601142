"""What every definition model shares: strict, closed models and the small field types."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

IMPORT_PATH = r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$"
_IMPORT_PATH = re.compile(IMPORT_PATH)


class SpecModel(BaseModel):
    """A closed, strict model: an unknown key or a value of the wrong type is an error (a YAML
    ``"3"`` is not the number 3)."""

    model_config = ConfigDict(extra="forbid", strict=True, use_attribute_docstrings=True)


def _import_path(value: str) -> str:
    if not _IMPORT_PATH.match(value):
        raise ValueError(f"{value!r} is not an import path: write 'package.module:name' (e.g. 'tools:fetch')")
    return value


def _name(value: str) -> str:
    if not value.strip():
        raise ValueError("a name must not be empty")
    if "/" in value:
        raise ValueError(f"the name {value!r} contains '/', which separates step paths: rename it")
    return value


ImportPath = Annotated[
    str,
    AfterValidator(_import_path),
    Field(json_schema_extra={"pattern": IMPORT_PATH}, examples=["tools:fetch"]),
]
"""``module:attribute`` (the attribute may be dotted); the module is looked up beside the flow
file first, then on ``sys.path``."""

Name = Annotated[str, AfterValidator(_name), Field(json_schema_extra={"pattern": "^[^/]+$"})]
"""A step, phase, member or flow name: not empty, no ``/``."""

Seconds = Annotated[float, Field(gt=0)]
"""A positive number of seconds."""

Count = Annotated[int, Field(ge=1)]
"""A whole number of at least 1."""
