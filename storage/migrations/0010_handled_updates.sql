-- Updates whose effects were committed, so that one Telegram delivers again after a crash (it
-- had not yet been confirmed by the next getUpdates) is not applied twice. Kept two days.
CREATE TABLE handled_updates (
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    update_id  INTEGER NOT NULL,
    handled_at TEXT NOT NULL,
    PRIMARY KEY (user_id, update_id)
) WITHOUT ROWID;
CREATE INDEX handled_updates_at ON handled_updates (handled_at);
