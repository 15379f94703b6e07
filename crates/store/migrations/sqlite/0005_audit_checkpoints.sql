-- Signed checkpoints of the audit chain: HMAC-SHA-256 (key in DATA_DIR/audit/, never here)
-- over the chain head at `seq` and the previous checkpoint's MAC.
CREATE TABLE audit_checkpoints (
    seq   INTEGER PRIMARY KEY,
    hash  TEXT NOT NULL,
    at    TEXT NOT NULL,
    mac   TEXT NOT NULL
);
