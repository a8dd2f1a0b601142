"""A scope's vector cache, brought up to date with the store before each use."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from jotty.memory import store
from jotty.memory.database import Cursor, Database
from jotty.memory.vectors import VectorCache


@contextmanager
def fresh_cache(database: Database, scope: str, embedder: str, dimension: int) -> Iterator[VectorCache]:
    """The scope's cache in this process, reloaded where the store changed since; held (locked)
    until the block ends. Raises ``ValidationError`` if the scope's vectors come from another embedder."""
    with database.cache_lock:
        cache = database.caches.get(scope)
        if not isinstance(cache, VectorCache) or cache.dimension != dimension:
            cache = database.caches[scope] = VectorCache(dimension)
    with cache.lock:

        def load(cur: Cursor) -> None:
            state = store.scope_state(cur, scope)
            store.check_embedder(state, scope, embedder, dimension)
            if state is None:
                if cache.rev != -1:
                    cache.reset()
                return
            if state.purges != cache.purges:
                cache.reset()
                cache.purges = state.purges
            if state.rev > cache.rev:
                cache.upsert(store.changed(cur, scope, cache.rev))
                cache.recount(store.recounted(cur, scope, cache.rev))
                cache.rev = state.rev

        database.read(load)
        yield cache
