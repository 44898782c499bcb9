DROP TRIGGER bearer_tokens_epoch_update ON bearer_tokens;
DROP TRIGGER learning_areas_epoch_delete ON learning_areas;
DROP TRIGGER learning_areas_epoch_update ON learning_areas;
DROP TRIGGER accounts_epoch_delete ON accounts;
DROP TRIGGER accounts_epoch_update ON accounts;
DROP TRIGGER access_tokens_epoch_delete ON access_tokens;
DROP TRIGGER access_tokens_epoch_update ON access_tokens;
DROP FUNCTION bump_credential_epoch();
DROP TABLE credential_epoch;
