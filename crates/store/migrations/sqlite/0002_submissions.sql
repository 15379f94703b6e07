-- Files providers submitted, whether ingested or not: who, when, what (hash), and the outcome.
CREATE TABLE submissions (
    id                    INTEGER PRIMARY KEY,
    provider_id           TEXT NOT NULL,
    file_name             TEXT NOT NULL,
    file_sha256           TEXT NOT NULL,
    bytes                 INTEGER NOT NULL,
    kind                  TEXT NOT NULL,
    billing_month         TEXT,
    status                TEXT NOT NULL CHECK (status IN ('accepted', 'rejected', 'superseded')),
    receipts_accepted     INTEGER NOT NULL,
    receipts_quarantined  INTEGER NOT NULL,
    findings              INTEGER NOT NULL,
    dataset               TEXT,
    version               INTEGER,
    submitted_at          TEXT NOT NULL
);
CREATE INDEX submissions_by_provider ON submissions (provider_id, file_sha256);
