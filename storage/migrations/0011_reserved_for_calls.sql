-- Reserved for the calls branch's 0011_calls_announcements.sql (issue 22 was told to use 0012).
-- Delete this file when the calls branch is merged.
SELECT 1;
