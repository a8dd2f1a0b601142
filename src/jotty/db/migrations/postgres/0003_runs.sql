-- Durable runs: one row per run, one row per finished step (its checkpoint). Events go to jotty_events.
-- A run's summary keeps the records of steps that have no checkpoint (failed, cancelled) and its windows.
-- As in SQLite: times are epoch seconds, JSON values are kept as the exact text Jotty wrote (TEXT, not
-- JSONB, which would reorder keys), and ids compare byte by byte (COLLATE "C") so every order matches.
CREATE TABLE IF NOT EXISTS jotty_runs (
    run_id TEXT COLLATE "C" PRIMARY KEY,
    flow TEXT NOT NULL,
    shape TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'completed', 'partial', 'failed')),
    input TEXT,
    output TEXT,
    error TEXT,
    summary TEXT,
    metadata TEXT,
    prompt_tokens BIGINT NOT NULL DEFAULT 0,
    completion_tokens BIGINT NOT NULL DEFAULT 0,
    owner TEXT,
    sessions INTEGER NOT NULL DEFAULT 1,
    created_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL,
    finished_at DOUBLE PRECISION
);
CREATE INDEX IF NOT EXISTS idx_jotty_runs_created ON jotty_runs(created_at);

CREATE TABLE IF NOT EXISTS jotty_run_steps (
    run_id TEXT COLLATE "C" NOT NULL,
    step_path TEXT COLLATE "C" NOT NULL,
    status TEXT NOT NULL,
    output TEXT,
    record TEXT NOT NULL,
    extra TEXT,
    finished_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (run_id, step_path)
);
