-- Bearer tokens issued by /oauth/token. Only the SHA-256 of a token is kept.
CREATE TABLE bearer_tokens (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash       BLOB NOT NULL UNIQUE,
    access_token_id  BIGINT NOT NULL REFERENCES access_tokens (id),
    issued_at        TIMESTAMP NOT NULL,
    expires_at       TIMESTAMP NOT NULL,
    revoked_at       TIMESTAMP
);
CREATE INDEX bearer_tokens_access_token ON bearer_tokens (access_token_id);
CREATE INDEX bearer_tokens_expires_at ON bearer_tokens (expires_at);
