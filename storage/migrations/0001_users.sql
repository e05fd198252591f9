-- Everyone who has talked to the bot. Times are ISO 8601 in UTC.
CREATE TABLE users (
    id                INTEGER PRIMARY KEY,          -- Telegram user id
    language          TEXT CHECK (language IN ('fi', 'sv', 'en')),  -- chosen explicitly; NULL = negotiate
    telegram_language TEXT,                         -- last language_code Telegram reported
    first_seen        TEXT NOT NULL,
    last_seen         TEXT NOT NULL,
    role              TEXT NOT NULL DEFAULT 'applicant' CHECK (role IN ('applicant', 'coordinator')),
    privacy_seen_at   TEXT                          -- when the short privacy notice was shown
);
