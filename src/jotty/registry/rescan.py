"""What a rescan of a folder drops: the file sources an earlier scan of the same folder registered
whose files are gone.

A row is one of the folder's scanned files when it is a ``file`` source named under the folder's
name (``NAME/...``), the place the scan found it lies inside the folder, and its name is the one a
scan gives that place (``source_name``). That place is the file itself, or for a file found through
a symbolic link inside the folder, the link (``Source.link``: the name is the link's, the location
the target's). A file registered by hand under another name, or a file of another folder, is never
touched. Such a row that this scan did not register is dropped when its file no longer exists, or
when its link is gone or no longer leads to it (the link is resolved, never opened: where it now
leads out of the folder, nothing there is read); it is kept when the file is still there (the scan
could not inspect it: a problem, a hidden file, a folder that cannot be listed), so a file that
cannot be read this time keeps its earlier registration instead of silently disappearing."""

from __future__ import annotations

import os
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from jotty.memory.database import Cursor
from jotty.registry import table as rows
from jotty.registry.records import Problem
from jotty.registry.walk import source_name


@dataclass
class Leftovers:
    """The earlier scan's file sources this scan did not register: those to drop (name, memory id)
    and those kept (their file is still there, or a problem of this scan covers it)."""

    gone: list[tuple[str, str | None]] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)

    @property
    def removed(self) -> list[str]:
        """The names dropped (or, in a dry run, that would be)."""
        return [name for name, _memory_id in self.gone]


def leftovers(
    cur: Cursor, scope: str, real: str, prefix: str, found: Collection[str], problems: Sequence[Problem]
) -> Leftovers:
    """The file sources of the registry ``scope`` from an earlier scan of the folder ``real`` (named
    ``prefix``) that are not among ``found`` (the names this scan registers). Blocking (looks at the
    files)."""
    rows = cur.rows(
        "SELECT name, location, link, memory_id FROM jotty_registry WHERE scope = ? AND kind = 'file' "
        "AND substr(name, 1, ?) = ? ORDER BY name",
        (scope, len(prefix) + 1, prefix + "/"),
    )
    result = Leftovers()
    for name, location, link, memory_id in rows:
        at = str(link or location or "")
        if name in found or not _inside(at, real):
            continue
        relative = os.path.relpath(at, real)
        if name != source_name(prefix, relative):
            continue  # registered by hand under a name of its own
        if link is not None and not _leads_to(link, location):
            result.gone.append((name, memory_id))
        elif _covered(relative, problems) or os.path.lexists(location):
            result.kept.append(name)
        else:
            result.gone.append((name, memory_id))
    return result


def drop(cur: Cursor, scope: str, gone: Sequence[tuple[str, str | None]]) -> list[str]:
    """Delete the rows ``gone`` of the registry ``scope`` (found by ``leftovers`` in the same
    transaction); the ids of the memories that indexed them."""
    ids = []
    for name, _memory_id in gone:
        _found, memory_id = rows.delete(cur, scope, name)
        if memory_id:
            ids.append(memory_id)
    return ids


def _inside(location: str, real: str) -> bool:
    if not os.path.isabs(location):
        return False
    return os.path.commonpath([location, real]) == real and location != real


def _leads_to(link: str, location: str) -> bool:
    """Whether ``link`` is still a symbolic link to the existing file ``location`` (resolved, not
    opened)."""
    return os.path.islink(link) and os.path.realpath(link) == location and os.path.lexists(location)


def _covered(relative: str, problems: Sequence[Problem]) -> bool:
    """Whether a problem of this scan is about the file at ``relative`` or a folder holding it."""
    for problem in problems:
        if problem.path in (".", relative) or relative.startswith(problem.path.rstrip(os.sep) + os.sep):
            return True
    return False
