-- A counter every change to the registry bumps (triggers, so writers in any process count).
-- Servers cache the actor of a credential and re-load it only when the counter moved: a
-- revoked authorization or token still stops access at the next request.
CREATE TABLE registry_state (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    generation  INTEGER NOT NULL
);
INSERT INTO registry_state (id, generation) VALUES (1, 0);

CREATE TRIGGER organizations_insert_bumps AFTER INSERT ON organizations BEGIN UPDATE registry_state SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER organizations_update_bumps AFTER UPDATE ON organizations BEGIN UPDATE registry_state SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER organizations_delete_bumps AFTER DELETE ON organizations BEGIN UPDATE registry_state SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER users_insert_bumps AFTER INSERT ON users BEGIN UPDATE registry_state SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER users_update_bumps AFTER UPDATE ON users BEGIN UPDATE registry_state SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER users_delete_bumps AFTER DELETE ON users BEGIN UPDATE registry_state SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER authorizations_insert_bumps AFTER INSERT ON authorizations BEGIN UPDATE registry_state SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER authorizations_update_bumps AFTER UPDATE ON authorizations BEGIN UPDATE registry_state SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER authorizations_delete_bumps AFTER DELETE ON authorizations BEGIN UPDATE registry_state SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER api_tokens_insert_bumps AFTER INSERT ON api_tokens BEGIN UPDATE registry_state SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER api_tokens_update_bumps AFTER UPDATE ON api_tokens BEGIN UPDATE registry_state SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER api_tokens_delete_bumps AFTER DELETE ON api_tokens BEGIN UPDATE registry_state SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER sessions_insert_bumps AFTER INSERT ON sessions BEGIN UPDATE registry_state SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER sessions_update_bumps AFTER UPDATE ON sessions BEGIN UPDATE registry_state SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER sessions_delete_bumps AFTER DELETE ON sessions BEGIN UPDATE registry_state SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER projects_insert_bumps AFTER INSERT ON projects BEGIN UPDATE registry_state SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER projects_update_bumps AFTER UPDATE ON projects BEGIN UPDATE registry_state SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER projects_delete_bumps AFTER DELETE ON projects BEGIN UPDATE registry_state SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER project_members_insert_bumps AFTER INSERT ON project_members BEGIN UPDATE registry_state SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER project_members_update_bumps AFTER UPDATE ON project_members BEGIN UPDATE registry_state SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER project_members_delete_bumps AFTER DELETE ON project_members BEGIN UPDATE registry_state SET generation = generation + 1 WHERE id = 1; END;
