-- The dashboard's throughput chart finds its first history row by a binary search over ids
-- (history ids grow with time), so the index on jotty_task_history(at) that 0006 added is dropped:
-- every queue operation writes history rows and paid for that index (about 7% of a claim +
-- complete on SQLite).
DROP INDEX IF EXISTS idx_jotty_task_history_at;
