DROP TRIGGER bearer_tokens_epoch_update;
DROP TRIGGER learning_areas_epoch_delete;
DROP TRIGGER learning_areas_epoch_update;
DROP TRIGGER accounts_epoch_delete;
DROP TRIGGER accounts_epoch_update;
DROP TRIGGER access_tokens_epoch_delete;
DROP TRIGGER access_tokens_epoch_update;
DROP TABLE credential_epoch;
