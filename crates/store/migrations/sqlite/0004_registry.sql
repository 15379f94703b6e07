-- Governance registry: organizations, accounts, government authorizations, credentials,
-- applications with their review history, and the projects approvals create.
CREATE TABLE organizations (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL
);

CREATE TABLE users (
    id              INTEGER PRIMARY KEY,
    username        TEXT NOT NULL UNIQUE,
    role            TEXT NOT NULL CHECK (role IN ('provider','operator','reviewer','authorized_user','researcher','auditor')),
    org_id          INTEGER REFERENCES organizations(id),
    password_hash   TEXT NOT NULL,
    failed_logins   INTEGER NOT NULL DEFAULT 0,
    locked_until    INTEGER NOT NULL DEFAULT 0,
    disabled        INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL
);

-- Government authorizations (認定利用事業者): days since 1970-01-01, inclusive.
CREATE TABLE authorizations (
    id          INTEGER PRIMARY KEY,
    org_id      INTEGER NOT NULL REFERENCES organizations(id),
    number      TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL CHECK (kind IN ('type_i','type_ii')),
    valid_from  INTEGER NOT NULL,
    valid_to    INTEGER NOT NULL,
    revoked     INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL
);
CREATE INDEX authorizations_by_org ON authorizations (org_id);

-- Credentials are stored as SHA-256 of a random secret; the secret is shown once.
CREATE TABLE api_tokens (
    id            INTEGER PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users(id),
    label         TEXT NOT NULL,
    secret_sha256 TEXT NOT NULL,
    revoked       INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL
);

CREATE TABLE sessions (
    id            INTEGER PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users(id),
    secret_sha256 TEXT NOT NULL,
    csrf_sha256   TEXT NOT NULL,
    expires_at    INTEGER NOT NULL
);

CREATE TABLE applications (
    id              INTEGER PRIMARY KEY,
    applicant_id    INTEGER NOT NULL REFERENCES users(id),
    org_id          INTEGER NOT NULL REFERENCES organizations(id),
    title           TEXT NOT NULL,
    tier            TEXT NOT NULL CHECK (tier IN ('pseudonymized','anonymized')),
    purpose         TEXT NOT NULL,
    protocol        TEXT NOT NULL,
    requested_from  INTEGER NOT NULL,
    requested_to    INTEGER NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('submitted','changes_requested','approved','rejected')),
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);

CREATE TABLE application_datasets (
    application_id  INTEGER NOT NULL REFERENCES applications(id),
    dataset         TEXT NOT NULL,
    PRIMARY KEY (application_id, dataset)
);

CREATE TABLE application_members (
    application_id  INTEGER NOT NULL REFERENCES applications(id),
    user_id         INTEGER NOT NULL REFERENCES users(id),
    PRIMARY KEY (application_id, user_id)
);

CREATE TABLE reviews (
    id              INTEGER PRIMARY KEY,
    application_id  INTEGER NOT NULL REFERENCES applications(id),
    reviewer_id     INTEGER REFERENCES users(id),
    event           TEXT NOT NULL CHECK (event IN ('submitted','revised','approve','reject','request_changes')),
    comment         TEXT NOT NULL,
    at              TEXT NOT NULL
);

CREATE TABLE projects (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE,
    application_id  INTEGER NOT NULL UNIQUE REFERENCES applications(id),
    org_id          INTEGER NOT NULL REFERENCES organizations(id),
    tier            TEXT NOT NULL,
    starts          INTEGER NOT NULL,
    expires         INTEGER NOT NULL,
    active          INTEGER NOT NULL DEFAULT 1,
    created_at      TEXT NOT NULL
);

CREATE TABLE project_members (
    project_id  INTEGER NOT NULL REFERENCES projects(id),
    user_id     INTEGER NOT NULL REFERENCES users(id),
    PRIMARY KEY (project_id, user_id)
);

-- The exact dataset versions a project may use.
CREATE TABLE project_grants (
    project_id  INTEGER NOT NULL REFERENCES projects(id),
    dataset     TEXT NOT NULL,
    version     INTEGER NOT NULL,
    PRIMARY KEY (project_id, dataset, version)
);
