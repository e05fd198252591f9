-- Checklist runs: every run is kept, finished or not; a user resumes their unfinished one.
CREATE TABLE checklist_runs (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    started_at  TEXT NOT NULL,
    finished_at TEXT
);
CREATE INDEX checklist_runs_user ON checklist_runs (user_id, finished_at);

CREATE TABLE checklist_answers (
    run_id      INTEGER NOT NULL REFERENCES checklist_runs (id) ON DELETE CASCADE,
    item_id     TEXT NOT NULL,
    answer      TEXT NOT NULL,   -- yes | no | unsure, or for sub-themes: ids joined by ',' or none
    answered_at TEXT NOT NULL,
    PRIMARY KEY (run_id, item_id)
);
