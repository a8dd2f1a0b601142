-- How often each memory was recalled, in a narrow table of its own. Counting a recall in
-- jotty_memory itself rewrote the whole row (its vector and text): writing the counts of 5,000
-- recalled memories took about 110 ms of write lock, and every process's vector cache then read
-- those 5,000 rows again, vectors and all. Here the same write takes 25-50 ms, and a cache reads
-- back only (seq, uses). A memory's uses are jotty_memory.uses (counts written before this
-- version) plus its row here; rev is the scope's revision of the last count, as in jotty_memory.
CREATE TABLE IF NOT EXISTS jotty_memory_uses (
    seq INTEGER PRIMARY KEY,
    scope TEXT NOT NULL,
    uses INTEGER NOT NULL,
    last_used REAL NOT NULL,
    rev INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS jotty_memory_uses_rev ON jotty_memory_uses (scope, rev);
