-- One counter that every change able to alter a bearer validation's answer moves forward, in
-- the same transaction as the change. Instances cache validations and poll this row (see
-- docs/decisions/0002-validation-lease.md). Triggers, not application code, so that no write
-- path (admin API, CLI, an operator's hand-written SQL) can forget it.
CREATE TABLE credential_epoch (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    epoch  BIGINT NOT NULL
);
INSERT INTO credential_epoch (id, epoch) VALUES (1, 0);

CREATE TRIGGER access_tokens_epoch_update
AFTER UPDATE OF learning_area_id, name, client_id, secret_hash, created_by, expires_at, revoked_at ON access_tokens
BEGIN UPDATE credential_epoch SET epoch = epoch + 1 WHERE id = 1; END;

CREATE TRIGGER access_tokens_epoch_delete AFTER DELETE ON access_tokens
BEGIN UPDATE credential_epoch SET epoch = epoch + 1 WHERE id = 1; END;

CREATE TRIGGER accounts_epoch_update AFTER UPDATE OF role, active ON accounts
BEGIN UPDATE credential_epoch SET epoch = epoch + 1 WHERE id = 1; END;

CREATE TRIGGER accounts_epoch_delete AFTER DELETE ON accounts
BEGIN UPDATE credential_epoch SET epoch = epoch + 1 WHERE id = 1; END;

CREATE TRIGGER learning_areas_epoch_update AFTER UPDATE OF name ON learning_areas
BEGIN UPDATE credential_epoch SET epoch = epoch + 1 WHERE id = 1; END;

CREATE TRIGGER learning_areas_epoch_delete AFTER DELETE ON learning_areas
BEGIN UPDATE credential_epoch SET epoch = epoch + 1 WHERE id = 1; END;

CREATE TRIGGER bearer_tokens_epoch_update
AFTER UPDATE OF token_hash, access_token_id, expires_at, revoked_at ON bearer_tokens
BEGIN UPDATE credential_epoch SET epoch = epoch + 1 WHERE id = 1; END;
