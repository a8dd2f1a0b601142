-- The router's experience (jotty.learning). Every write is an increment (x = x + excluded.x),
-- so several processes sharing the store merge their updates instead of overwriting each other.
-- Sums are DOUBLE PRECISION (PostgreSQL's REAL is single precision) and BIGINT.

-- Q(state, actor): learned action values, with how many times each pair was taken.
CREATE TABLE IF NOT EXISTS jotty_learning_q (
    state TEXT COLLATE "C" NOT NULL,
    actor TEXT COLLATE "C" NOT NULL,
    q DOUBLE PRECISION NOT NULL DEFAULT 0,
    visits BIGINT NOT NULL DEFAULT 0,
    updated_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (state, actor)
);

-- Outcome counts per (actor, feature): feature is '*' (every goal), 'category:X' or 'keyword:X'.
CREATE TABLE IF NOT EXISTS jotty_learning_stats (
    actor TEXT COLLATE "C" NOT NULL,
    feature TEXT COLLATE "C" NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    successes BIGINT NOT NULL DEFAULT 0,
    reward DOUBLE PRECISION NOT NULL DEFAULT 0,
    tokens BIGINT NOT NULL DEFAULT 0,
    seconds DOUBLE PRECISION NOT NULL DEFAULT 0,
    updated_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (actor, feature)
);

-- How many times in a row an actor failed a goal (a task id or a hash of the goal's text).
-- A success deletes the row.
CREATE TABLE IF NOT EXISTS jotty_learning_streaks (
    goal_key TEXT COLLATE "C" NOT NULL,
    actor TEXT COLLATE "C" NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0,
    updated_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (goal_key, actor)
);
