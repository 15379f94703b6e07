-- The catalog of datasets and their immutable versions.
CREATE TABLE datasets (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    tier        TEXT NOT NULL CHECK (tier IN ('identified','pseudonymized','anonymized','statistics','sample')),
    created_at  TEXT NOT NULL
);

CREATE TABLE versions (
    id               INTEGER PRIMARY KEY,
    dataset_id       INTEGER NOT NULL REFERENCES datasets(id),
    version          INTEGER NOT NULL,
    dir              TEXT NOT NULL UNIQUE,
    tier             TEXT NOT NULL,
    manifest_sha256  TEXT NOT NULL,
    step             TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    superseded       INTEGER NOT NULL DEFAULT 0,
    UNIQUE (dataset_id, version)
);

CREATE TABLE version_tables (
    version_id  INTEGER NOT NULL REFERENCES versions(id),
    table_name  TEXT NOT NULL,
    rows        INTEGER NOT NULL,
    files       INTEGER NOT NULL,
    bytes       INTEGER NOT NULL,
    PRIMARY KEY (version_id, table_name)
);

CREATE TABLE lineage (
    version_id        INTEGER NOT NULL REFERENCES versions(id),
    input_version_id  INTEGER NOT NULL REFERENCES versions(id),
    PRIMARY KEY (version_id, input_version_id)
);
