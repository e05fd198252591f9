-- Reserved for another branch's migration (issue 22 §1 is built in parallel); this placeholder
-- only keeps the numbers without a gap on the partners branch. Drop it when merging.
SELECT 1;
