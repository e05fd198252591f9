-- Where each user is in a multi-step flow. This table, not memory, is the source of truth, so a
-- restarted bot continues every conversation exactly where it was.
CREATE TABLE conversations (
    user_id    INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    flow       TEXT NOT NULL,
    step       TEXT NOT NULL,
    data       TEXT NOT NULL DEFAULT '{}',          -- JSON object owned by the flow
    updated_at TEXT NOT NULL
);
