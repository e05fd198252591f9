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

-- 👍/👎 on an answer, however the user reached it (question, suggestion, topic browser). It
-- belongs to the user (they can see and delete it) and so is deliberately not linked to the
-- anonymous query above: the query carries its own copy of the vote instead.
CREATE TABLE faq_feedback (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    entry_id   TEXT NOT NULL,
    language   TEXT NOT NULL,
    value      INTEGER NOT NULL CHECK (value IN (-1, 1))
);
CREATE INDEX faq_feedback_user ON faq_feedback (user_id);
CREATE INDEX faq_feedback_entry ON faq_feedback (entry_id);
