"""Resolve ``module:attribute`` import paths, looking beside the flow file first.

A module found in the flow file's directory (``tools.py`` or ``tools/__init__.py`` for
``tools:fetch``) is loaded from there, with that directory on ``sys.path`` while it loads (so it
can import its neighbours). When another module of the same name is loaded already (two flows in
two directories, each with its own ``tools.py``), the flow's module is loaded under a private name
instead, so neither replaces the other. Anything else is imported from ``sys.path`` as usual.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import importlib
import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any


class ImportPathError(Exception):
    """An import path does not resolve; the message says why."""


def resolve(path: str, base_dir: Path | None) -> Any:
    """The object named by ``path`` (``module:attr``, the attribute may be dotted)."""
    module_name, _, attribute = path.partition(":")
    module = _module(module_name, base_dir)
    value: Any = module
    walked: list[str] = []
    for part in attribute.split("."):
        try:
            value = getattr(value, part)
        except AttributeError:
            owner = f"{module_name}:{'.'.join(walked)}" if walked else f"module {module_name!r}"
            names = sorted(n for n in dir(value) if not n.startswith("_"))
            close = difflib.get_close_matches(part, names, n=1)
            listing = ", ".join(names[:12]) or "nothing public"
            hint = f"; did you mean {close[0]!r}?" if close else f" (it has: {listing})"
            raise ImportPathError(f"cannot resolve {path!r}: {owner} has no attribute {part!r}{hint}") from None
        walked.append(part)
    return value


def _module(name: str, base_dir: Path | None) -> ModuleType:
    local = _local_file(name, base_dir) if base_dir is not None else None
    if local is None:
        return _import(name, base_dir, on_path=False)
    loaded = sys.modules.get(name)
    if loaded is not None and _file_of(loaded) == local:
        return loaded
    top = name.split(".")[0]
    top_loaded = sys.modules.get(top)
    if loaded is None and (top_loaded is None or _is_under(top_loaded, base_dir)):
        module = _import(name, base_dir)
        if _file_of(module) == local:
            return module
    return _load_private(name, local, base_dir)


def _import(name: str, base_dir: Path | None, *, on_path: bool = True) -> ModuleType:
    """Import ``name`` (with ``base_dir`` first on ``sys.path`` when ``on_path``)."""
    importlib.invalidate_caches()  # a module written since the last import must be seen
    try:
        with _on_path(base_dir if on_path else None):
            return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        where = f"beside the flow file ({base_dir}) or " if base_dir is not None else ""
        if exc.name is not None and exc.name != name and not name.startswith(f"{exc.name}."):
            missing = exc.name
            raise ImportPathError(f"cannot import module {name!r}: it imports {missing!r}, which is missing") from None
        raise ImportPathError(f"no module {name!r} {where}on sys.path: check the spelling, or install it") from None
    except Exception as exc:
        raise ImportPathError(f"importing module {name!r} failed: {type(exc).__name__}: {exc}") from None


def _load_private(name: str, file: Path, base_dir: Path | None) -> ModuleType:
    digest = hashlib.sha256(str(file).encode()).hexdigest()[:12]
    private = f"_jotty_flow_{digest}_{name.replace('.', '_')}"
    loaded = sys.modules.get(private)
    if loaded is not None:
        return loaded
    spec = importlib.util.spec_from_file_location(private, file)
    if spec is None or spec.loader is None:
        raise ImportPathError(f"cannot load module {name!r} from {file}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[private] = module
    try:
        with _on_path(base_dir):
            spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[private]
        raise ImportPathError(f"importing module {name!r} ({file}) failed: {type(exc).__name__}: {exc}") from None
    return module


def _local_file(name: str, base_dir: Path) -> Path | None:
    base = base_dir.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate.resolve()
    return None


def _file_of(module: ModuleType) -> Path | None:
    file = getattr(module, "__file__", None)
    return Path(file).resolve() if file else None


def _is_under(module: ModuleType, base_dir: Path | None) -> bool:
    file = _file_of(module)
    return base_dir is not None and file is not None and file.is_relative_to(base_dir.resolve())


@contextlib.contextmanager
def _on_path(base_dir: Path | None) -> Iterator[None]:
    """``base_dir`` first on ``sys.path`` while the block runs."""
    if base_dir is None:
        yield
        return
    entry = str(base_dir.resolve())
    sys.path.insert(0, entry)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(entry)
