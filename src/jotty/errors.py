"""One error hierarchy for all of Jotty.

Every message says what was wrong and how to fix it. Callers catch ``JottyError`` for anything
Jotty raises on purpose; the subclasses let them be precise.
"""

from __future__ import annotations


class JottyError(Exception):
    """Base class of every error Jotty raises on purpose."""


class ValidationError(JottyError, ValueError):
    """A value given to Jotty is not acceptable (wrong type, out of range, unknown name)."""


class NotFoundError(JottyError, LookupError):
    """A named thing (task, template, run) does not exist."""


class DependencyCycleError(ValidationError):
    """A task's ``depends_on`` would create a cycle."""


class StoreError(JottyError):
    """The store (SQLite file, PostgreSQL or Redis server) cannot be used."""


class StoreCorruptError(StoreError):
    """The database file is not a database, or is damaged."""


class StoreReadOnlyError(StoreError):
    """The database cannot be written (read-only file, directory or mount)."""


class StoreUnavailableError(StoreError):
    """A database server cannot be reached, or refused the credentials."""


class SchemaVersionError(StoreError):
    """The store was migrated by a newer Jotty than this one."""


class LeaseLostError(JottyError):
    """A worker tried to finish a task whose lease it no longer holds."""


class AgentError(JottyError):
    """An agent could not be run (bad configuration, missing program, unreachable endpoint)."""


class DefinitionError(ValidationError):
    """A flow definition (YAML/JSON) is invalid; the message names file, line, column and key."""


class RunError(JottyError):
    """A run cannot be started or resumed as asked."""
