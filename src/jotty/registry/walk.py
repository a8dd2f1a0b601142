"""Walking a folder for a scan: the regular files inside it (hidden ones and links leading out are
left out, and said), each with the source name it gets."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

from jotty.errors import ValidationError
from jotty.registry.records import Problem

MAX_FILES = 10_000
_UNSAFE = re.compile(r"[^A-Za-z0-9_.:/@-]+")


def shown(path: str) -> str:
    """``path`` as text that can be shown and stored: bytes of its name that are not UTF-8 (which
    ``os`` gives as lone surrogates) written as ``\\xe9``."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def utf8_path(path: str) -> str:
    """``path``, or a ``ValidationError`` if its name is not UTF-8 (the store keeps paths as text)."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(
            f"{shown(path)}: its path is not UTF-8, and the registry keeps paths as text: rename it "
            "(for example convmv -f latin1 -t utf-8 -r --notest FOLDER)"
        ) from None
    return path


def real_folder(path: str | os.PathLike[str]) -> str:
    """The real path of an existing folder, or a ``ValidationError``."""
    where = os.fspath(path)
    real = os.path.realpath(where)
    if not os.path.isdir(real):
        raise ValidationError(f"{shown(where)} is not a folder: give an existing directory")
    return utf8_path(real)


def source_name(prefix: str, relative: str) -> str:
    """The source name of a file at ``relative`` under a folder named ``prefix``."""
    cleaned = "/".join(_UNSAFE.sub("_", part).strip("._") or "_" for part in relative.split(os.sep))
    return f"{prefix}/{cleaned}"


def folder_name(real: str) -> str:
    """A default source name for a folder: its base name, made safe."""
    return _UNSAFE.sub("_", os.path.basename(real)).strip("._-") or "folder"


def files(real: str, problems: list[Problem], max_files: int = MAX_FILES) -> Iterator[tuple[str, str]]:
    """``(real path, path relative to the folder)`` of each regular file inside ``real``, in order.

    Symbolic links are followed only while they stay inside the folder; the others are problems, and
    so are folders that cannot be listed (no permission, removed meanwhile).
    """

    def unlisted(exc: OSError) -> None:
        where = shown(os.path.relpath(exc.filename, real)) if exc.filename else "."
        problems.append(Problem(where, f"a folder that cannot be listed ({exc.strerror or exc}): skipped"))

    count = 0
    for root, dirs, names in os.walk(real, onerror=unlisted, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(n for n in names if not n.startswith(".")):
            full = os.path.join(root, name)
            target = os.path.realpath(full)
            relative = os.path.relpath(full, real)
            said = shown(relative)
            if os.path.commonpath([target, real]) != real:
                problems.append(
                    Problem(said, f"a symbolic link leading out of the folder (to {shown(target)}): skipped")
                )
                continue
            if not os.path.isfile(target):
                problems.append(Problem(said, "not a regular file (a broken link, a pipe or a device): skipped"))
                continue
            count += 1
            if count > max_files:
                raise ValidationError(
                    f"{real} holds more than {max_files:,} files: scan a narrower folder or pass max_files="
                )
            yield target, relative
