-- Feedback buttons quote a query by its token alone (64 random bits), so the answer can be sent
-- while the query is still being logged. Not unique: tokens of earlier versions were 32 bits,
-- and their buttons quote the id as well.
CREATE INDEX faq_queries_token ON faq_queries (token);
