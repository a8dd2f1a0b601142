-- The supervisor's tasks table, column for column, in PostgreSQL types. Times are UTC; task ids
-- compare byte by byte (COLLATE "C"), as in SQLite and Python, so queue order is the same everywhere.
CREATE TABLE IF NOT EXISTS tasks (
    task_id TEXT COLLATE "C" PRIMARY KEY,
    title TEXT NOT NULL,
    description TEXT,
    category TEXT NOT NULL DEFAULT '',
    priority INTEGER NOT NULL DEFAULT 3,
    tags TEXT,
    status TEXT NOT NULL DEFAULT 'backlog' CHECK (status IN ('suggested', 'backlog', 'pending', 'in_progress', 'completed', 'failed', 'blocked', 'cancelled')),
    progress_percent INTEGER DEFAULT 0,
    pid INTEGER,
    worktree_path TEXT,
    git_branch TEXT,
    created_at TIMESTAMP DEFAULT (now() AT TIME ZONE 'UTC'),
    started_at TIMESTAMP,
    completed_at TIMESTAMP,
    last_heartbeat TIMESTAMP,
    estimated_hours DOUBLE PRECISION,
    actual_hours DOUBLE PRECISION,
    error_message TEXT,
    retry_count INTEGER DEFAULT 0,
    max_retries INTEGER DEFAULT 3,
    depends_on TEXT,
    blocks TEXT,
    created_by TEXT DEFAULT 'system',
    assigned_to TEXT,
    agent_type TEXT DEFAULT 'claude',
    log_file TEXT,
    context_files TEXT,
    task_content TEXT,
    filename TEXT,
    reference_apps TEXT,
    estimated_effort TEXT
);
CREATE INDEX IF NOT EXISTS idx_tasks_status ON tasks(status);
CREATE INDEX IF NOT EXISTS idx_tasks_priority ON tasks(priority);
CREATE INDEX IF NOT EXISTS idx_tasks_category ON tasks(category);
CREATE INDEX IF NOT EXISTS idx_tasks_pid ON tasks(pid);
CREATE INDEX IF NOT EXISTS idx_tasks_created_at ON tasks(created_at);
