-- Indexes the dashboard's paged queries use: runs by status / flow / owner, newest first;
-- events by type (insights, the learning curve); task transitions over time (queue throughput).
CREATE INDEX IF NOT EXISTS idx_jotty_runs_status_created ON jotty_runs(status, created_at);
CREATE INDEX IF NOT EXISTS idx_jotty_runs_flow_created ON jotty_runs(flow, created_at);
CREATE INDEX IF NOT EXISTS idx_jotty_runs_owner_created ON jotty_runs(owner, created_at);
CREATE INDEX IF NOT EXISTS idx_jotty_events_type ON jotty_events(type, id);
CREATE INDEX IF NOT EXISTS idx_jotty_task_history_at ON jotty_task_history(at);
