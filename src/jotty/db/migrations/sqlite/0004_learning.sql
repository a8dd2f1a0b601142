-- The router's experience (jotty.learning). Every write is an increment (x = x + excluded.x),
-- so several processes sharing the store merge their updates instead of overwriting each other.

-- Q(state, actor): learned action values, with how many times each pair was taken.
CREATE TABLE IF NOT EXISTS jotty_learning_q (
    state TEXT NOT NULL,
    actor TEXT NOT NULL,
    q REAL NOT NULL DEFAULT 0,
    visits INTEGER NOT NULL DEFAULT 0,
    updated_at REAL NOT NULL,
    PRIMARY KEY (state, actor)
);

-- Outcome counts per (actor, feature): feature is '*' (every goal), 'category:X' or 'keyword:X'.
CREATE TABLE IF NOT EXISTS jotty_learning_stats (
    actor TEXT NOT NULL,
    feature TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    successes INTEGER NOT NULL DEFAULT 0,
    reward REAL NOT NULL DEFAULT 0,
    tokens INTEGER NOT NULL DEFAULT 0,
    seconds REAL NOT NULL DEFAULT 0,
    updated_at REAL NOT NULL,
    PRIMARY KEY (actor, feature)
);

-- How many times in a row an actor failed a goal (a task id or a hash of the goal's text).
-- A success deletes the row.
CREATE TABLE IF NOT EXISTS jotty_learning_streaks (
    goal_key TEXT NOT NULL,
    actor TEXT NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0,
    updated_at REAL NOT NULL,
    PRIMARY KEY (goal_key, actor)
);
