-- Patients' opt-outs, recorded from a provider by the identified-zone key, and when the
-- operator's `optout apply` removed them from the derived datasets.
CREATE TABLE optouts (
    id           INTEGER PRIMARY KEY,
    provider     TEXT NOT NULL,
    person_key   TEXT NOT NULL UNIQUE,
    recorded_at  TEXT NOT NULL,
    applied_at   TEXT
);
