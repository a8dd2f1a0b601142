-- Data registry: each registry (DataRegistry(scope=...)) is a catalogue of its own, its rows keyed by
-- scope and name, so one name in two scopes is two sources. SQLite cannot change a primary key, so
-- the table is made again with its rows: each row goes to the scope of the index entry it points at
-- (the registry that registered it), "registry" (the default) when it points at none.
CREATE TABLE jotty_registry_scoped (
    scope TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    format TEXT NOT NULL DEFAULT '',
    location TEXT NOT NULL DEFAULT '',
    source_table TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    described_by TEXT NOT NULL DEFAULT 'user',
    schema TEXT NOT NULL DEFAULT '[]',
    tags TEXT NOT NULL DEFAULT '[]',
    owner TEXT NOT NULL DEFAULT '',
    size INTEGER,
    stats TEXT NOT NULL DEFAULT '{}',
    run_id TEXT,
    step TEXT,
    value TEXT,
    memory_id TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (scope, name)
);
INSERT INTO jotty_registry_scoped (
    scope, name, kind, format, location, source_table, description, described_by, schema, tags, owner, size,
    stats, run_id, step, value, memory_id, created_at, updated_at
)
SELECT COALESCE((SELECT m.scope FROM jotty_memory m WHERE m.id = r.memory_id), 'registry'),
    r.name, r.kind, r.format, r.location, r.source_table, r.description, r.described_by, r.schema, r.tags, r.owner,
    r.size, r.stats, r.run_id, r.step, r.value, r.memory_id, r.created_at, r.updated_at
FROM jotty_registry r;
DROP TABLE jotty_registry;
ALTER TABLE jotty_registry_scoped RENAME TO jotty_registry;
CREATE INDEX jotty_registry_kind ON jotty_registry (scope, kind, name);
CREATE INDEX jotty_registry_run ON jotty_registry (run_id);
