-- Project outlines. A submitted draft is read-only; reopening makes an editable copy.
-- user_id is NULL only for a submitted outline kept for the programme after its author deleted
-- their data (BOT_KEEP_SUBMITTED); its contact details are removed then.
CREATE TABLE drafts (
    id            INTEGER PRIMARY KEY,
    user_id       INTEGER REFERENCES users (id) ON DELETE CASCADE,
    name          TEXT,                         -- the user's own name for it (rename); else title
    status        TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'submitted')),
    language      TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    submitted_at  TEXT,
    reopened_from INTEGER REFERENCES drafts (id) ON DELETE SET NULL
);
CREATE INDEX drafts_user ON drafts (user_id, updated_at);
CREATE INDEX drafts_status ON drafts (status, submitted_at);

CREATE TABLE draft_answers (
    draft_id   INTEGER NOT NULL REFERENCES drafts (id) ON DELETE CASCADE,
    section_id TEXT NOT NULL,
    value      TEXT NOT NULL,                   -- '' = skipped
    updated_at TEXT NOT NULL,
    PRIMARY KEY (draft_id, section_id)
);

-- Every value ever saved, so an overwritten answer is never lost.
CREATE TABLE draft_history (
    id         INTEGER PRIMARY KEY,
    draft_id   INTEGER NOT NULL REFERENCES drafts (id) ON DELETE CASCADE,
    section_id TEXT NOT NULL,
    value      TEXT NOT NULL,
    saved_at   TEXT NOT NULL
);
CREATE INDEX draft_history_draft ON draft_history (draft_id);
