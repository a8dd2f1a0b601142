"""Open run stores shared within a process, so that ``flow.run(x, store="runs.db")`` does not open
(and migrate) the store again for every run.

A store given as a path or URL is opened once per event loop and kept: every later run in that
loop with the same path or URL reuses it. One store per event loop, because a store belongs to
the thread (SQLite connection) or the loop (PostgreSQL pool) that opened it; two loops in two
threads each get their own. The stores of a loop are closed when the loop shuts down
(``asyncio.run`` and ``asyncio.Runner`` finalise it), and the SQLite ones left open are closed when
the process exits. After ``os.fork()`` the child never touches the parent's stores (neither to use
nor to close them: a connection must not cross a fork); it opens its own. An SQLite file that was
deleted or replaced since it was opened is opened again.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import threading
import weakref
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field

from jotty.db import resolve_store
from jotty.runs.sqlite import SQLiteRunStore
from jotty.runs.store import RunStore, StoreArg, open_run_store

log = logging.getLogger(__name__)


@dataclass
class _Opened:
    store: RunStore
    file_id: tuple[int, int] | None  # an SQLite file's (device, inode): a replaced file is reopened


@dataclass
class _LoopStores:
    """The stores one event loop opened, in the process that opened them."""

    pid: int = field(default_factory=os.getpid)
    stores: dict[str, _Opened] = field(default_factory=dict)
    keeper: object = None  # the async generator whose finalisation closes the stores


_BY_LOOP: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopStores] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()
_INHERITED: list[_LoopStores] = []
"""Stores a forked child inherited from its parent: kept referenced so that they are never closed
(nor garbage-collected, which would close them) in the child."""


def _file_id(path: str) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_dev, info.st_ino)


async def shared_store(store: StoreArg) -> RunStore:
    """The open store for ``store`` in the running event loop, opening it on first use.

    An open ``RunStore`` is returned as it is (the caller owns it); ``None`` is the default store.
    """
    if isinstance(store, RunStore):
        return store
    kind, target = _resolved(store)
    key = f"{kind}:{target}"
    stores = await _loop_stores()
    opened = stores.stores.get(key)
    if opened is not None:
        if opened.file_id is None or _file_id(target) == opened.file_id:
            return opened.store
        del stores.stores[key]  # the file was replaced: its runs go on on the old one, GC closes it
    fresh = open_run_store(target if kind == "sqlite" else store)
    file_id = _file_id(target) if kind == "sqlite" else None
    stores.stores[key] = _Opened(fresh, file_id)
    return fresh


_RESOLVED: dict[str, tuple[str, str]] = {}
"""Absolute paths and URLs already resolved (a relative path depends on the working directory)."""


def _resolved(store: str | os.PathLike[str] | None) -> tuple[str, str]:
    """(kind, target) of a store argument; an SQLite target is an absolute path."""
    text = None if store is None else os.fspath(store)
    if text is not None and text in _RESOLVED:
        return _RESOLVED[text]
    location = resolve_store(store)
    target = os.path.abspath(location.target) if location.kind == "sqlite" else location.target
    if text is not None and (os.path.isabs(text) or "://" in text) and len(_RESOLVED) < 1024:
        _RESOLVED[text] = (location.kind, target)
    return location.kind, target


async def _loop_stores() -> _LoopStores:
    loop = asyncio.get_running_loop()
    stores = _BY_LOOP.get(loop)
    if stores is not None and stores.pid == os.getpid():
        return stores
    with _LOCK:
        if stores is not None:  # forked: the parent's stores stay untouched here
            _INHERITED.append(stores)
        stores = _BY_LOOP[loop] = _LoopStores()
    keeper = _close_with_the_loop(stores)
    await keeper.asend(None)  # the loop finalises it (and so closes the stores) when it shuts down
    stores.keeper = keeper
    return stores


async def _close_with_the_loop(stores: _LoopStores) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        if stores.pid == os.getpid():
            opened, stores.stores = list(stores.stores.values()), {}
            with _LOCK:
                for loop, owned in list(_BY_LOOP.items()):
                    if owned is stores:
                        del _BY_LOOP[loop]
            for item in opened:
                try:
                    await item.store.close()
                except Exception:
                    log.exception("could not close the run store %s", item.store.location)


def _close_at_exit() -> None:
    """Close the SQLite stores this process still holds (their loops were not shut down)."""
    with _LOCK:
        registries = [s for s in _BY_LOOP.values() if s.pid == os.getpid()]
    for stores in registries:
        for item in list(stores.stores.values()):
            if isinstance(item.store, SQLiteRunStore):
                item.store.close_now()
        stores.stores.clear()


atexit.register(_close_at_exit)
