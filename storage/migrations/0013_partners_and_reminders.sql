-- Partners in a draft (issue 22 §2) and reminders for drafts left untouched (§3).

-- The owner stays drafts.user_id; a partner may read and edit the sections, nothing more.
-- display_name is the name Telegram showed for the partner when they joined, so that the owner
-- knows whom to remove; it goes with the membership.
CREATE TABLE draft_members (
    draft_id     INTEGER NOT NULL REFERENCES drafts (id) ON DELETE CASCADE,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    display_name TEXT NOT NULL DEFAULT '',
    joined_at    TEXT NOT NULL,
    PRIMARY KEY (draft_id, user_id)
);
CREATE INDEX draft_members_user ON draft_members (user_id);

-- One-time invitation links (/start join_<token>). Only a hash of the token is stored: the
-- database (or a backup of it) never holds a link that still works.
CREATE TABLE draft_invitations (
    id         INTEGER PRIMARY KEY,
    draft_id   INTEGER NOT NULL REFERENCES drafts (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    created_by INTEGER REFERENCES users (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_by    INTEGER REFERENCES users (id) ON DELETE SET NULL,
    used_at    TEXT,
    revoked_at TEXT
);
CREATE INDEX draft_invitations_draft ON draft_invitations (draft_id);

-- Who saved each version. NULL: a user who has since deleted their data ("a removed user").
-- Until now only the owner could save, so the versions already there are the owner's.
ALTER TABLE draft_history ADD COLUMN editor_id INTEGER REFERENCES users (id) ON DELETE SET NULL;
UPDATE draft_history SET editor_id = (SELECT d.user_id FROM drafts d WHERE d.id = draft_id);
CREATE INDEX draft_history_section ON draft_history (draft_id, section_id, id);

-- Reminders: a draft is due when it has not been edited since the reminder days and was not
-- reminded since its last edit; reminded_at is claimed in the transaction that picks it, so a
-- restart neither forgets a due reminder nor sends one twice. remind = 0: "Don't remind me".
ALTER TABLE drafts ADD COLUMN reminded_at TEXT;
ALTER TABLE drafts ADD COLUMN remind INTEGER NOT NULL DEFAULT 1;
CREATE INDEX drafts_reminder_due ON drafts (updated_at)
    WHERE status = 'draft' AND remind = 1 AND (reminded_at IS NULL OR reminded_at < updated_at);
