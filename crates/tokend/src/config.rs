//! Configuration: flags and `TOKEND_*` environment variables, read once in `main` and passed
//! down. There is no global configuration.

use clap::Args;
use time::Duration;
use token_core::model::ExpiryPolicy;
use token_core::secret::HashParams;
use token_oauth::{LeaseConfig, OAuthConfig};

/// Settings every command shares.
#[derive(Debug, Clone, Args)]
pub struct Common {
    /// Database URL: `sqlite://PATH` (embedded, the default) or `postgres://…`.
    #[arg(long, global = true, env = "TOKEND_DATABASE_URL", default_value = "sqlite://./data/tokend.db")]
    pub database_url: String,

    /// argon2id memory cost in KiB for new secrets and passwords.
    #[arg(long, global = true, env = "TOKEND_ARGON2_MEMORY_KIB", default_value_t = 19_456)]
    pub argon2_memory_kib: u32,

    /// argon2id iterations.
    #[arg(long, global = true, env = "TOKEND_ARGON2_ITERATIONS", default_value_t = 2)]
    pub argon2_iterations: u32,

    /// argon2id parallelism.
    #[arg(long, global = true, env = "TOKEND_ARGON2_PARALLELISM", default_value_t = 1)]
    pub argon2_parallelism: u32,

    /// Longest lifetime an access token may be given, in days.
    #[arg(long, global = true, env = "TOKEND_MAX_TOKEN_LIFETIME_DAYS", default_value_t = 730)]
    pub max_token_lifetime_days: i64,

    /// Lifetime of an access token when none is given, in days.
    #[arg(long, global = true, env = "TOKEND_DEFAULT_TOKEN_LIFETIME_DAYS", default_value_t = 365)]
    pub default_token_lifetime_days: i64,

    /// How long, in milliseconds, an instance may answer bearer validations from memory
    /// between polls of the credential epoch; revocations (here and in `serve`) answer only
    /// after it has passed. 0 turns the cache off. Every instance and the CLI must agree.
    #[arg(long, global = true, env = "TOKEND_VALIDATION_LEASE_MS", default_value_t = 100)]
    pub validation_lease_ms: u64,
}

impl Common {
    pub fn hash_params(&self) -> HashParams {
        HashParams {
            memory_kib: self.argon2_memory_kib,
            iterations: self.argon2_iterations,
            parallelism: self.argon2_parallelism,
        }
    }

    pub fn lease_config(&self) -> Result<LeaseConfig, String> {
        if self.validation_lease_ms > 10_000 {
            return Err("the validation lease must be at most 10000 ms (revocations wait for it)".into());
        }
        Ok(LeaseConfig::with_lease(std::time::Duration::from_millis(self.validation_lease_ms)))
    }

    pub fn expiry_policy(&self) -> Result<ExpiryPolicy, String> {
        if self.default_token_lifetime_days < 1 || self.max_token_lifetime_days < self.default_token_lifetime_days {
            return Err("the default token lifetime must be at least 1 day and at most the maximum lifetime".into());
        }
        Ok(ExpiryPolicy {
            default_lifetime: Duration::days(self.default_token_lifetime_days),
            max_lifetime: Duration::days(self.max_token_lifetime_days),
        })
    }
}

/// Settings of `tokend serve`.
#[derive(Debug, Clone, Args)]
pub struct Serve {
    /// Address to listen on.
    #[arg(long, env = "TOKEND_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,

    /// Public base URL, as clients reach it (for the OAuth2 metadata document).
    #[arg(long, env = "TOKEND_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Bearer token lifetime in seconds.
    #[arg(long, env = "TOKEND_BEARER_LIFETIME_SECS", default_value_t = 3600)]
    pub bearer_lifetime_secs: i64,

    /// argon2 verifications per second for token requests (verified secrets are cached and
    /// cost none); beyond it, token requests get 429 without hashing.
    #[arg(long, env = "TOKEND_MAX_VERIFICATIONS_PER_SEC", default_value_t = 8)]
    pub max_verifications_per_sec: u32,

    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "TOKEND_WORKERS")]
    pub workers: Option<usize>,

    /// Database connections in the pool.
    #[arg(long, env = "TOKEND_DB_POOL_SIZE", default_value_t = 8)]
    pub pool_size: u32,

    /// Bearer validations remembered between polls of the credential epoch (a few hundred
    /// bytes each): size it to the bearer tokens in use at once.
    #[arg(long, env = "TOKEND_VALIDATION_CACHE_ENTRIES", default_value_t = 50_000)]
    pub validation_cache_entries: usize,

    /// Seconds between purges of dead bearer tokens.
    #[arg(long, env = "TOKEND_PURGE_INTERVAL_SECS", default_value_t = 300)]
    pub purge_interval_secs: u64,

    /// Email of the administrator created on the first start with an empty database.
    #[arg(long, env = "TOKEND_BOOTSTRAP_EMAIL", default_value = "admin@localhost")]
    pub bootstrap_email: String,
}

impl Serve {
    pub fn oauth_config(&self, common: &Common) -> Result<OAuthConfig, String> {
        if self.bearer_lifetime_secs < 60 {
            return Err("the bearer lifetime must be at least 60 seconds".into());
        }
        Ok(OAuthConfig {
            bearer_lifetime: Duration::seconds(self.bearer_lifetime_secs),
            max_verifications_per_second: self.max_verifications_per_sec,
            lease: LeaseConfig { max_entries: self.validation_cache_entries, ..common.lease_config()? },
            ..OAuthConfig::default()
        })
    }
}
