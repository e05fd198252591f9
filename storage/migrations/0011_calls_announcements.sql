-- Calls for applications, kept by coordinators (/calls, python -m bot calls). Times are UTC.
CREATE TABLE calls (
    id         INTEGER PRIMARY KEY,
    title_fi   TEXT NOT NULL,
    title_sv   TEXT NOT NULL,
    title_en   TEXT NOT NULL,
    opens_at   TEXT NOT NULL,
    closes_at  TEXT NOT NULL,
    subthemes  TEXT NOT NULL DEFAULT '',        -- sub-theme ids (content/subthemes.toml), space-separated
    link       TEXT NOT NULL DEFAULT '',        -- the call in EURA 2021
    closed_at  TEXT,                            -- closed early by a coordinator
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CHECK (closes_at > opens_at)
);
CREATE INDEX calls_closing ON calls (closes_at);

-- Who asked to hear about calls (/subscribe), and who said no more (/unsubscribe, or blocked
-- the bot): they get no deadline reminders for their drafts either. What a subscriber receives
-- is in their language at the time it is sent.
CREATE TABLE subscriptions (
    user_id         INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    subscribed_at   TEXT NOT NULL,
    unsubscribed_at TEXT                        -- NULL: subscribed now
);

-- An announcement (a coordinator's text) or a deadline reminder, as each language will read it.
-- status: draft (previewed, not confirmed), sending (in the outbox), done (every row settled).
CREATE TABLE announcements (
    id            INTEGER PRIMARY KEY,
    kind          TEXT NOT NULL CHECK (kind IN ('announcement', 'reminder')),
    status        TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'sending', 'done')),
    html_fi       TEXT NOT NULL,
    html_sv       TEXT NOT NULL,
    html_en       TEXT NOT NULL,
    created_by    INTEGER,                      -- the coordinator told of progress; NULL: CLI
    created_at    TEXT NOT NULL,
    queued_at     TEXT,
    finished_at   TEXT,
    reported_at   TEXT,                         -- when the final report was sent to created_by
    call_id       INTEGER REFERENCES calls (id) ON DELETE SET NULL,
    reminder_days INTEGER,                      -- a reminder: this many days before closing
    UNIQUE (call_id, reminder_days)             -- each reminder of a call is made once
);

-- The durable outbox: one row per recipient. A row is claimed (committed) before its message is
-- sent and settled after; a row found claimed at start-up was in flight when the process died
-- and becomes 'uncertain', never sent again (docs/announcements.md).
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    announcement_id INTEGER NOT NULL REFERENCES announcements (id) ON DELETE CASCADE,
    user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    status          TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'claimed', 'sent', 'failed', 'blocked', 'uncertain')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    not_before      TEXT,                       -- back-off after a failed attempt
    done_at         TEXT,
    error           TEXT,
    UNIQUE (announcement_id, user_id)
);
CREATE INDEX outbox_status ON outbox (status, id);
CREATE INDEX outbox_user ON outbox (user_id);
