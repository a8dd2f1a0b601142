-- Jotty's additions to the queue: added columns only, plus tables of its own (prefixed jotty_).
ALTER TABLE tasks ADD COLUMN IF NOT EXISTS parent_id TEXT;
ALTER TABLE tasks ADD COLUMN IF NOT EXISTS metadata TEXT;
ALTER TABLE tasks ADD COLUMN IF NOT EXISTS result TEXT;
ALTER TABLE tasks ADD COLUMN IF NOT EXISTS run_after DOUBLE PRECISION;
ALTER TABLE tasks ADD COLUMN IF NOT EXISTS lease_owner TEXT;
ALTER TABLE tasks ADD COLUMN IF NOT EXISTS lease_id TEXT;
ALTER TABLE tasks ADD COLUMN IF NOT EXISTS lease_expires_at DOUBLE PRECISION;
ALTER TABLE tasks ADD COLUMN IF NOT EXISTS host TEXT;

CREATE INDEX IF NOT EXISTS idx_jotty_tasks_claim ON tasks(priority, created_at, task_id) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS idx_jotty_tasks_run_after ON tasks(run_after) WHERE status = 'pending' AND run_after IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_jotty_tasks_lease ON tasks(lease_expires_at) WHERE status = 'in_progress';
CREATE INDEX IF NOT EXISTS idx_jotty_tasks_parent ON tasks(parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_jotty_tasks_filename ON tasks(filename) WHERE filename IS NOT NULL;

-- Every transition of every task: who, when, from, to, why.
CREATE TABLE IF NOT EXISTS jotty_task_history (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    task_id TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT NOT NULL,
    actor TEXT,
    reason TEXT,
    at TIMESTAMP NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_jotty_task_history_task ON jotty_task_history(task_id, id);

CREATE TABLE IF NOT EXISTS jotty_task_templates (
    name TEXT PRIMARY KEY,
    fields TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- Events of tasks and runs (the runs layer writes here too).
CREATE TABLE IF NOT EXISTS jotty_events (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at DOUBLE PRECISION NOT NULL,
    type TEXT NOT NULL,
    run_id TEXT,
    task_id TEXT,
    step_path TEXT NOT NULL DEFAULT '',
    data TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS idx_jotty_events_run ON jotty_events(run_id, id) WHERE run_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_jotty_events_task ON jotty_events(task_id, id) WHERE task_id IS NOT NULL;

-- The last generated number of supervisor-style ids (TASK-YYYYMMDD-NNNNN) per day.
CREATE TABLE IF NOT EXISTS jotty_id_counters (
    day TEXT PRIMARY KEY,
    last INTEGER NOT NULL
);
