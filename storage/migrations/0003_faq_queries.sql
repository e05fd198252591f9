-- Every question asked, for coordinators improving the content. Deliberately without the user's
-- id: what people ask is useful, who asked it is not needed.
CREATE TABLE faq_queries (
    id          INTEGER PRIMARY KEY,
    token       TEXT NOT NULL,                  -- random; feedback buttons must quote it
    created_at  TEXT NOT NULL,
    language    TEXT NOT NULL,                  -- the user's language
    matched_in  TEXT NOT NULL,                  -- the language whose content matched
    query       TEXT NOT NULL,                  -- normalized: case-folded, punctuation removed
    outcome     TEXT NOT NULL CHECK (outcome IN ('answer', 'suggest', 'none')),
    top         TEXT NOT NULL DEFAULT '[]',     -- JSON [[entry id, score], ...], best first
    chosen      TEXT,                           -- entry picked from the suggestions
    feedback    INTEGER CHECK (feedback IN (-1, 1))
);
CREATE INDEX faq_queries_created ON faq_queries (created_at);

-- 👍/👎 on an answer, however the user reached it (question, suggestion, topic browser).
CREATE TABLE faq_feedback (
    id         INTEGER PRIMARY KEY,
    created_at TEXT NOT NULL,
    entry_id   TEXT NOT NULL,
    language   TEXT NOT NULL,
    value      INTEGER NOT NULL CHECK (value IN (-1, 1)),
    query_id   INTEGER REFERENCES faq_queries (id) ON DELETE SET NULL
);
CREATE INDEX faq_feedback_entry ON faq_feedback (entry_id);
