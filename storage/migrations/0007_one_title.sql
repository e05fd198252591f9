-- A draft's name and its working title (outline section "title") become one value: the title
-- answer. A name given by renaming wins, as the later and deliberate choice; the title it
-- replaces stays in draft_history, where every saved value already is, and the name is added
-- there too. drafts.name is no longer written (kept NULL); the column stays, as dropping it
-- would rebuild the table for nothing.
INSERT INTO draft_history (draft_id, section_id, value, saved_at)
SELECT d.id, 'title', d.name, d.updated_at FROM drafts d
WHERE d.name IS NOT NULL AND d.name <> ''
  AND d.name IS NOT (SELECT a.value FROM draft_answers a WHERE a.draft_id = d.id AND a.section_id = 'title');

INSERT INTO draft_answers (draft_id, section_id, value, updated_at)
SELECT d.id, 'title', d.name, d.updated_at FROM drafts d WHERE d.name IS NOT NULL AND d.name <> ''
ON CONFLICT (draft_id, section_id) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at;

UPDATE drafts SET name = NULL WHERE name IS NOT NULL;
