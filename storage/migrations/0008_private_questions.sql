-- A question can hold a name or an e-mail address, so it is the asker's personal data: linked to
-- them, it is in /mydata and erased with /deletedata (coordinators' reports still never show who
-- asked). Questions logged before this have no asker and go with the retention period.
ALTER TABLE faq_queries ADD COLUMN user_id INTEGER REFERENCES users (id) ON DELETE CASCADE;
CREATE INDEX faq_queries_user ON faq_queries (user_id);

-- One vote per person and answer: of earlier repeated votes the latest counts.
DELETE FROM faq_feedback
WHERE id NOT IN (SELECT max(id) FROM faq_feedback GROUP BY user_id, entry_id);
CREATE UNIQUE INDEX faq_feedback_one_vote ON faq_feedback (user_id, entry_id);
