"""The data registry: data sources (files, folders, SQLite/PostgreSQL tables, run outputs) registered
in the store with description, schema, tags, owner and provenance; found by words and fields through
the memory search index; read only where registered; offered to agents as tools.
"""

from jotty.registry.artifacts import Artifact
from jotty.registry.records import KINDS, Problem, ReadResult, ScanReport, Source, SourceHit
from jotty.registry.registry import SCOPE, DataRegistry

__all__ = ["KINDS", "SCOPE", "Artifact", "DataRegistry", "Problem", "ReadResult", "ScanReport", "Source", "SourceHit"]
