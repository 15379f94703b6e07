-- An application may ask to link the pseudonymized research data with the NDB (連結利用):
-- only a project approved for it sees the keyed linkage columns (id1_keyed, id2_keyed,
-- id5_keyed), re-keyed for the project.
ALTER TABLE applications ADD COLUMN ndb_linkage BIGINT NOT NULL DEFAULT 0;
