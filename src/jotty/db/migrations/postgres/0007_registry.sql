-- Data registry (jotty.registry): one row per registered data source. Its words are indexed in the
-- memory tables (scope "registry"); memory_id is the memory that indexes the current version.
-- schema, tags, stats and value are JSON text; run_id and step: the provenance of an artifact.
CREATE TABLE IF NOT EXISTS jotty_registry (
    name TEXT COLLATE "C" PRIMARY KEY,
    kind TEXT NOT NULL,
    format TEXT NOT NULL DEFAULT '',
    location TEXT NOT NULL DEFAULT '',
    source_table TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    described_by TEXT NOT NULL DEFAULT 'user',
    schema TEXT NOT NULL DEFAULT '[]',
    tags TEXT NOT NULL DEFAULT '[]',
    owner TEXT NOT NULL DEFAULT '',
    size BIGINT,
    stats TEXT NOT NULL DEFAULT '{}',
    run_id TEXT,
    step TEXT,
    value TEXT,
    memory_id TEXT,
    created_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX IF NOT EXISTS jotty_registry_kind ON jotty_registry (kind, name);
CREATE INDEX IF NOT EXISTS jotty_registry_run ON jotty_registry (run_id);
