-- Coordinators review submitted outlines (issue 22): more statuses, every status change kept
-- with who and when, and comments on the whole outline or one section.
--
-- drafts.status had a CHECK of two values; SQLite cannot change a CHECK in place, so the table
-- is rebuilt the way SQLite documents it (create, copy, drop, rename). The migration runner
-- turns foreign keys off around migrations (with them on, dropping the old table would delete
-- every answer and version through ON DELETE CASCADE) and runs foreign_key_check before it
-- commits. Ids are kept, so draft_answers, draft_history and reopened_from still point right.
CREATE TABLE drafts_new (
    id            INTEGER PRIMARY KEY,
    user_id       INTEGER REFERENCES users (id) ON DELETE CASCADE,
    name          TEXT,
    status        TEXT NOT NULL DEFAULT 'draft' CHECK (status IN (
                      'draft', 'submitted', 'in_review', 'returned', 'resubmitted',
                      'accepted', 'not_proceeding')),
    language      TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    submitted_at  TEXT,                         -- the first submission; a resubmission keeps it
    reopened_from INTEGER REFERENCES drafts (id) ON DELETE SET NULL
);
INSERT INTO drafts_new (id, user_id, name, status, language, created_at, updated_at,
                        submitted_at, reopened_from)
SELECT id, user_id, name, status, language, created_at, updated_at, submitted_at, reopened_from
FROM drafts;
DROP TABLE drafts;
ALTER TABLE drafts_new RENAME TO drafts;
CREATE INDEX drafts_user ON drafts (user_id, updated_at);
CREATE INDEX drafts_status ON drafts (status, submitted_at);

-- Every status change: who (NULL: the command line, or a user who has since deleted their
-- data; `via` tells which), when, from and to. The first row of an outline that was submitted
-- before this migration is its submission, reconstructed from submitted_at.
CREATE TABLE review_events (
    id          INTEGER PRIMARY KEY,
    draft_id    INTEGER NOT NULL REFERENCES drafts (id) ON DELETE CASCADE,
    actor_id    INTEGER REFERENCES users (id) ON DELETE SET NULL,
    via         TEXT NOT NULL DEFAULT 'chat' CHECK (via IN ('chat', 'cli')),
    from_status TEXT NOT NULL,
    to_status   TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX review_events_draft ON review_events (draft_id, id);

INSERT INTO review_events (draft_id, actor_id, via, from_status, to_status, created_at)
SELECT id, user_id, 'chat', 'draft', 'submitted', submitted_at FROM drafts
WHERE status = 'submitted' AND submitted_at IS NOT NULL;

-- The outline as it was when it was returned with comments: what the coordinator compares the
-- resubmitted outline with. Kept apart from draft_history, which keeps only the last versions.
CREATE TABLE review_snapshots (
    event_id   INTEGER NOT NULL REFERENCES review_events (id) ON DELETE CASCADE,
    section_id TEXT NOT NULL,
    value      TEXT NOT NULL,
    PRIMARY KEY (event_id, section_id)
) WITHOUT ROWID;

-- A coordinator's comment on the whole outline (section_id NULL) or on one section. Part of
-- the outline: the applicant sees it, /mydata includes it, and it goes when the outline goes.
CREATE TABLE review_comments (
    id          INTEGER PRIMARY KEY,
    draft_id    INTEGER NOT NULL REFERENCES drafts (id) ON DELETE CASCADE,
    section_id  TEXT,
    author_id   INTEGER REFERENCES users (id) ON DELETE SET NULL,
    via         TEXT NOT NULL DEFAULT 'chat' CHECK (via IN ('chat', 'cli')),
    body        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX review_comments_draft ON review_comments (draft_id, id);
