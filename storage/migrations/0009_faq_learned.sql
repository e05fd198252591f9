-- What coordinators taught the FAQ matcher from /unanswered: a question attached to an entry as a
-- new variant in its language, or marked out of scope (answered "I don't know" at once, and no
-- longer listed as unanswered). Read into the matcher at start; `python -m bot content learned`
-- turns the variants into TOML for the content editors. No user id: a taught wording is content.
CREATE TABLE faq_learned (
    id          INTEGER PRIMARY KEY,
    created_at  TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('variant', 'out_of_scope')),
    language    TEXT NOT NULL,
    query       TEXT NOT NULL,                  -- normalized, as in faq_queries
    entry_id    TEXT,                           -- the entry a variant belongs to
    CHECK ((kind = 'variant') = (entry_id IS NOT NULL))
);
-- One decision per question: teaching it again replaces the earlier one.
CREATE UNIQUE INDEX faq_learned_query ON faq_learned (query, language);
