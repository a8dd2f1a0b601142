-- Data registry: each registry (DataRegistry(scope=...)) is a catalogue of its own, its rows keyed by
-- scope and name, so one name in two scopes is two sources. Each row goes to the scope of the index
-- entry it points at (the registry that registered it), "registry" (the default) when it points at none.
ALTER TABLE jotty_registry ADD COLUMN IF NOT EXISTS scope TEXT COLLATE "C" NOT NULL DEFAULT 'registry';
UPDATE jotty_registry r SET scope = m.scope FROM jotty_memory m WHERE m.id = r.memory_id;
ALTER TABLE jotty_registry ALTER COLUMN scope DROP DEFAULT;
ALTER TABLE jotty_registry DROP CONSTRAINT IF EXISTS jotty_registry_pkey;
ALTER TABLE jotty_registry ADD PRIMARY KEY (scope, name);
DROP INDEX IF EXISTS jotty_registry_kind;
CREATE INDEX jotty_registry_kind ON jotty_registry (scope, kind, name);
