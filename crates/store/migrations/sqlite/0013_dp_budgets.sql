-- A project's differential-privacy budget (epsilon in millionths, exact): set by an operator,
-- spent by DP releases under basic sequential composition. `spent_micros` moves only through
-- one conditional UPDATE, so two requests at once can never overspend.
CREATE TABLE dp_budgets (
    project       TEXT PRIMARY KEY,
    total_micros  INTEGER NOT NULL CHECK (total_micros > 0),
    spent_micros  INTEGER NOT NULL DEFAULT 0,
    set_by        TEXT NOT NULL,
    set_at        TEXT NOT NULL
);
CREATE TABLE dp_charges (
    id            INTEGER PRIMARY KEY,
    project       TEXT NOT NULL,
    label         TEXT NOT NULL,
    micros        INTEGER NOT NULL,
    charged_by    TEXT NOT NULL,
    charged_at    TEXT NOT NULL
);
