"""A memory's recall count in SQL, for every reader of the memory tables (``jotty.memory``, the
dashboard): schema version 9 keeps the counts in a narrow table of their own (see
``migrations/*/0009_memory_uses.sql``)."""


def uses_of(table: str) -> str:
    """SQL for the recalls of ``table``'s memory row: the counts written before schema version 9
    (``jotty_memory.uses``) plus its row in ``jotty_memory_uses``."""
    return f"({table}.uses + COALESCE((SELECT u.uses FROM jotty_memory_uses u WHERE u.seq = {table}.seq), 0))"
