"""Load a flow definition file (YAML or JSON) into a runnable flow, checked before anything runs."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pydantic

from jotty.context import ContextPolicy
from jotty.patterns import Flow
from jotty.spec.build import ContextPool, build_context, build_flow
from jotty.spec.diagnose import spec_error
from jotty.spec.errors import Pos, SpecError
from jotty.spec.models import FlowSpec
from jotty.spec.source import FORMATS, Format, parse

SUFFIXES: dict[str, Format] = {".yaml": "yaml", ".yml": "yaml", ".json": "json"}


@dataclass(frozen=True)
class Definition:
    """A loaded definition: the runnable ``flow``, the validated ``spec``, and where it came from."""

    flow: Flow
    spec: FlowSpec
    source: str
    """The file path as given (or ``<string>``), as messages show it."""
    path: Path | None
    """The file's absolute path (``None`` for text)."""
    digest: str
    """SHA-256 of the text: tells whether the file changed since a run started."""
    context: ContextPool = field(default_factory=ContextPool)
    """The facts and skills of the definition's ``context:``."""

    @property
    def level(self) -> str | None:
        """The definition's context level (``level:``), or ``None``."""
        return self.spec.level

    def policy(self) -> ContextPolicy | None:
        """A fresh ``ContextPolicy`` over the definition's ``context:`` (``None`` without one)."""
        return self.context.policy() if self.spec.context is not None else None

    @property
    def input(self) -> Any:
        """The definition's default input (``input:``), or ``None``."""
        return self.spec.input

    @property
    def has_input(self) -> bool:
        """Whether the definition gives a default input."""
        return "input" in self.spec.model_fields_set


def load_definition(path: str | os.PathLike[str]) -> Definition:
    """Read, validate and build the definition in the file at ``path`` (``.yaml``, ``.yml`` or
    ``.json``). Import paths resolve beside the file first. ``SpecError`` names the file, line,
    column and key of the first problem."""
    file = Path(path)
    name = os.fspath(path)
    fmt = SUFFIXES.get(file.suffix.lower())
    if fmt is None:
        raise SpecError(f"{name}: a flow definition is a .yaml, .yml or .json file; rename it", name, Pos(1, 1), "")
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(f"{name}: no such flow file: check the path", name, Pos(1, 1), "") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{name}: cannot read the flow file: {exc}", name, Pos(1, 1), "") from None
    return load_definition_text(text, fmt, source=name, base_dir=file.resolve().parent, path=file.resolve())


def load_definition_text(
    text: str,
    fmt: Format = "yaml",
    *,
    source: str = "<string>",
    base_dir: str | os.PathLike[str] | None = None,
    path: Path | None = None,
) -> Definition:
    """Validate and build a definition given as text. ``base_dir`` is where import paths resolve
    first (default: only ``sys.path``); ``source`` names the text in messages."""
    if fmt not in FORMATS:
        raise SpecError(f"{source}: unknown format {fmt!r}: use 'yaml' or 'json'", source, Pos(1, 1), "")
    parsed = parse(text, fmt, source)
    if not isinstance(parsed.data, dict):
        raise parsed.error((), f"a flow definition is a mapping with a 'flow:' key, got {type(parsed.data).__name__}")
    try:
        spec = FlowSpec.model_validate(parsed.data)
    except pydantic.ValidationError as exc:
        raise spec_error(exc, parsed) from None
    base = None if base_dir is None else Path(base_dir).resolve()
    flow = build_flow(spec, parsed, base)
    context = build_context(spec, parsed, base)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return Definition(flow, spec, source, path, digest, context)


def load_flow(path: str | os.PathLike[str]) -> Flow:
    """The runnable flow defined in the file at ``path``; see ``load_definition``."""
    return load_definition(path).flow


def load_flow_text(
    text: str, fmt: Format = "yaml", *, source: str = "<string>", base_dir: str | os.PathLike[str] | None = None
) -> Flow:
    """The runnable flow defined by ``text`` (``yaml`` or ``json``); see ``load_definition_text``."""
    return load_definition_text(text, fmt, source=source, base_dir=base_dir).flow


def flow_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a flow definition."""
    schema = FlowSpec.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "Jotty flow definition", **schema}
