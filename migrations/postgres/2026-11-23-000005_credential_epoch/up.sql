-- One counter that every change able to alter a bearer validation's answer moves forward, in
-- the same transaction as the change. Instances cache validations and poll this row (see
-- docs/decisions/0002-validation-lease.md). Triggers, not application code, so that no write
-- path (admin API, CLI, an operator's hand-written SQL) can forget it.
CREATE TABLE credential_epoch (
    id     BIGINT PRIMARY KEY CHECK (id = 1),
    epoch  BIGINT NOT NULL
);
INSERT INTO credential_epoch (id, epoch) VALUES (1, 0);

CREATE FUNCTION bump_credential_epoch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE credential_epoch SET epoch = epoch + 1 WHERE id = 1;
    RETURN NULL;
END
$$;

CREATE TRIGGER access_tokens_epoch_update
AFTER UPDATE OF learning_area_id, name, client_id, secret_hash, created_by, expires_at, revoked_at ON access_tokens
FOR EACH ROW EXECUTE FUNCTION bump_credential_epoch();

CREATE TRIGGER access_tokens_epoch_delete AFTER DELETE ON access_tokens
FOR EACH ROW EXECUTE FUNCTION bump_credential_epoch();

CREATE TRIGGER accounts_epoch_update AFTER UPDATE OF role, active ON accounts
FOR EACH ROW EXECUTE FUNCTION bump_credential_epoch();

CREATE TRIGGER accounts_epoch_delete AFTER DELETE ON accounts
FOR EACH ROW EXECUTE FUNCTION bump_credential_epoch();

CREATE TRIGGER learning_areas_epoch_update AFTER UPDATE OF name ON learning_areas
FOR EACH ROW EXECUTE FUNCTION bump_credential_epoch();

CREATE TRIGGER learning_areas_epoch_delete AFTER DELETE ON learning_areas
FOR EACH ROW EXECUTE FUNCTION bump_credential_epoch();

CREATE TRIGGER bearer_tokens_epoch_update
AFTER UPDATE OF token_hash, access_token_id, expires_at, revoked_at ON bearer_tokens
FOR EACH ROW EXECUTE FUNCTION bump_credential_epoch();
