-- Pseudonymized rows the web workspace has shown each user of each project per day (days
-- since 1970-01-01), against the per-user volume limit. `shown` moves only through one
-- conditional UPDATE, so two pages at once cannot both pass the limit.
CREATE TABLE row_views (
    username  TEXT NOT NULL,
    project   TEXT NOT NULL,
    day       INTEGER NOT NULL,
    shown     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (username, project, day)
);
