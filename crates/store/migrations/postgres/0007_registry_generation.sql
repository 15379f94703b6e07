-- A counter every change to the registry bumps (triggers, so writers in any process count).
-- Servers cache the actor of a credential and re-load it only when the counter moved: a
-- revoked authorization or token still stops access at the next request.
CREATE TABLE registry_state (
    id          BIGINT PRIMARY KEY CHECK (id = 1),
    generation  BIGINT NOT NULL
);
INSERT INTO registry_state (id, generation) VALUES (1, 0);

-- PostgreSQL: one function, one row trigger per table, as in SQLite.
CREATE FUNCTION bump_registry_generation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE registry_state SET generation = generation + 1 WHERE id = 1;
    RETURN NULL;
END;
$$;

CREATE TRIGGER organizations_bumps AFTER INSERT OR UPDATE OR DELETE ON organizations FOR EACH ROW EXECUTE FUNCTION bump_registry_generation();
CREATE TRIGGER users_bumps AFTER INSERT OR UPDATE OR DELETE ON users FOR EACH ROW EXECUTE FUNCTION bump_registry_generation();
CREATE TRIGGER authorizations_bumps AFTER INSERT OR UPDATE OR DELETE ON authorizations FOR EACH ROW EXECUTE FUNCTION bump_registry_generation();
CREATE TRIGGER api_tokens_bumps AFTER INSERT OR UPDATE OR DELETE ON api_tokens FOR EACH ROW EXECUTE FUNCTION bump_registry_generation();
CREATE TRIGGER sessions_bumps AFTER INSERT OR UPDATE OR DELETE ON sessions FOR EACH ROW EXECUTE FUNCTION bump_registry_generation();
CREATE TRIGGER projects_bumps AFTER INSERT OR UPDATE OR DELETE ON projects FOR EACH ROW EXECUTE FUNCTION bump_registry_generation();
CREATE TRIGGER project_members_bumps AFTER INSERT OR UPDATE OR DELETE ON project_members FOR EACH ROW EXECUTE FUNCTION bump_registry_generation();
