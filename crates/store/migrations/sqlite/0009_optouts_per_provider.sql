-- An opt-out names a patient by provider AND chart number: chart numbers are unique only
-- within their provider, so patients of two providers with the same chart number must not
-- collide (the key was the chart number alone).
CREATE TABLE optouts_by_provider (
    id           INTEGER PRIMARY KEY,
    provider     TEXT NOT NULL,
    person_key   TEXT NOT NULL,
    recorded_at  TEXT NOT NULL,
    applied_at   TEXT,
    UNIQUE (provider, person_key)
);
INSERT INTO optouts_by_provider (id, provider, person_key, recorded_at, applied_at)
    SELECT id, provider, person_key, recorded_at, applied_at FROM optouts;
DROP TABLE optouts;
ALTER TABLE optouts_by_provider RENAME TO optouts;
