-- The providers (医療情報取扱事業者) whose files this producer receives. A provider must have
-- notified its patients and the competent minister before it may send (次世代医療基盤法,
-- opt-out notice and 届出), so the monthly run reads files only from registered providers whose
-- notice date has passed, and never from a withdrawn one.
CREATE TABLE providers (
    id             TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    notified_on    TEXT NOT NULL,
    registered_at  TEXT NOT NULL,
    withdrawn_at   TEXT
);
