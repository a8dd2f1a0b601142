-- Memory (jotty.memory): episodes, consolidated facts and their provenance, per scope.

-- One row per scope: a revision bumped by every write (so each process's vector cache reloads only
-- what changed), a purge counter bumped by forget (a full reload), and the embedder that wrote it.
CREATE TABLE IF NOT EXISTS jotty_memory_scopes (
    scope TEXT PRIMARY KEY,
    rev INTEGER NOT NULL DEFAULT 0,
    purges INTEGER NOT NULL DEFAULT 0,
    embedder TEXT,
    dimension INTEGER,
    created_at REAL NOT NULL
);

-- One memory. level: working | episodic | semantic | archive. sources: JSON list of the items it
-- holds ({"id", "at", "text", "metadata"}); absorbed_into: the semantic memory that consolidated it.
CREATE TABLE IF NOT EXISTS jotty_memory (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    scope TEXT NOT NULL,
    level TEXT NOT NULL,
    text TEXT NOT NULL,
    metadata TEXT NOT NULL DEFAULT '{}',
    sources TEXT NOT NULL DEFAULT '[]',
    signature TEXT NOT NULL,
    salience REAL NOT NULL DEFAULT 0.5,
    seen INTEGER NOT NULL DEFAULT 1,
    uses INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    stored_at REAL NOT NULL,
    last_seen REAL NOT NULL,
    last_used REAL,
    absorbed_into TEXT,
    embedding BLOB,
    rev INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jotty_memory_scope_level ON jotty_memory (scope, level, created_at);
CREATE INDEX IF NOT EXISTS jotty_memory_signature ON jotty_memory (scope, signature);
CREATE INDEX IF NOT EXISTS jotty_memory_rev ON jotty_memory (scope, rev);

CREATE VIRTUAL TABLE IF NOT EXISTS jotty_memory_fts USING fts5(
    text, content='jotty_memory', content_rowid='seq', tokenize='porter unicode61'
);
CREATE TRIGGER IF NOT EXISTS jotty_memory_fts_insert AFTER INSERT ON jotty_memory BEGIN
    INSERT INTO jotty_memory_fts (rowid, text) VALUES (new.seq, new.text);
END;
CREATE TRIGGER IF NOT EXISTS jotty_memory_fts_delete AFTER DELETE ON jotty_memory BEGIN
    INSERT INTO jotty_memory_fts (jotty_memory_fts, rowid, text) VALUES ('delete', old.seq, old.text);
END;
CREATE TRIGGER IF NOT EXISTS jotty_memory_fts_update AFTER UPDATE OF text ON jotty_memory BEGIN
    INSERT INTO jotty_memory_fts (jotty_memory_fts, rowid, text) VALUES ('delete', old.seq, old.text);
    INSERT INTO jotty_memory_fts (rowid, text) VALUES (new.seq, new.text);
END;

-- One consolidator per scope at a time, across processes: a lease with an expiry.
CREATE TABLE IF NOT EXISTS jotty_memory_leases (
    scope TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    expires_at REAL NOT NULL
);
