-- Web chat visitors (bot/channels/web.py). A visitor's user id is 2^53 + web_visitors.id: Telegram
-- user ids have at most 52 significant bits and group chats are negative, so no Telegram chat
-- can ever have an id in that range. AUTOINCREMENT: an erased visitor's id is never given again.
CREATE TABLE web_visitors (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL
);
-- A browser's cookie, stored as the SHA-256 of its random value only: a copy of the database
-- does not let anyone act as a visitor. One visitor may have several (other devices).
CREATE TABLE web_sessions (
    token_hash BLOB PRIMARY KEY,
    visitor_id INTEGER NOT NULL REFERENCES web_visitors (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX web_sessions_visitor ON web_sessions (visitor_id);
-- One-time codes to continue on another device, hashed like the cookies; short-lived.
CREATE TABLE web_device_codes (
    code_hash  BLOB PRIMARY KEY,
    visitor_id INTEGER NOT NULL REFERENCES web_visitors (id) ON DELETE CASCADE,
    expires_at TEXT NOT NULL
) WITHOUT ROWID;
-- Erasing the user (/deletedata, the retention purge) erases the visitor and its cookies, so an
-- old cookie leads nowhere.
CREATE TRIGGER web_visitor_erased AFTER DELETE ON users
WHEN OLD.id >= 9007199254740992
BEGIN
    DELETE FROM web_visitors WHERE id = OLD.id - 9007199254740992;
END;
