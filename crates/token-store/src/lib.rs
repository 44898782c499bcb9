//! tokend's persistence: diesel over SQLite (the embedded default) and PostgreSQL (for several
//! instances), an r2d2 pool, and embedded migrations. Implements `token-core`'s storage traits.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use token_store::{Db, PoolOptions};
//! let db = Db::connect("sqlite://./data/tokend.db", PoolOptions::default())?;
//! let areas = db.run(|store| token_core::service::list_learning_areas(store, token_core::service::Caller::System))?;
//! # Ok(()) }
//! ```

pub mod connection;
mod db_store;
mod learning_store;
pub mod schema;

use std::time::Duration;

use diesel::Connection;
use diesel::connection::SimpleConnection;
use token_core::{CommitOnError, StoreError};

pub use connection::{DatabaseUrl, DbConnection};
pub use db_store::DbStore;

/// Why the store could not start.
#[derive(Debug, thiserror::Error)]
pub enum StoreInitError {
    /// The database URL is not one tokend understands.
    #[error("invalid database URL: {0}")]
    Url(String),
    /// The SQLite file's folder could not be created.
    #[error("cannot create the database folder: {0}")]
    Folder(#[source] std::io::Error),
    /// No connection could be opened.
    #[error("cannot connect to the {backend} database: {source}")]
    Connect {
        /// `sqlite` or `postgres`.
        backend: &'static str,
        /// The pool's error (it does not contain the URL).
        #[source]
        source: r2d2::Error,
    },
    /// A migration failed.
    #[error("migration failed: {0}")]
    Migration(String),
}

/// Pool settings.
#[derive(Debug, Clone)]
pub struct PoolOptions {
    /// Most connections open at once.
    pub max_connections: u32,
    /// How long a caller waits for a free connection before the store answers "unavailable".
    pub acquire_timeout: Duration,
    /// Apply pending migrations on connect.
    pub migrate: bool,
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self { max_connections: 8, acquire_timeout: Duration::from_secs(5), migrate: true }
    }
}

/// A pool of connections to one database, cheap to clone.
#[derive(Clone)]
pub struct Db {
    pool: r2d2::Pool<connection::Manager>,
    backend: &'static str,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").field("backend", &self.backend).finish_non_exhaustive()
    }
}

impl Db {
    /// Opens a pool on `url` (`sqlite://PATH` or `postgres://…`) and, unless told not to,
    /// applies pending migrations.
    pub fn connect(url: &str, options: PoolOptions) -> Result<Self, StoreInitError> {
        let url = DatabaseUrl::parse(url)?;
        if let DatabaseUrl::Sqlite(path) = &url
            && let Some(folder) = std::path::Path::new(path).parent()
            && !folder.as_os_str().is_empty()
        {
            std::fs::create_dir_all(folder).map_err(StoreInitError::Folder)?;
        }
        let backend = url.backend();
        // No `SELECT 1` on every checkout: it doubled the statements of the hottest path (bearer
        // validation is one query). A connection that broke fails its query, and the pool
        // replaces it (`has_broken`, `is_valid` when idle connections are reaped).
        let pool = r2d2::Pool::builder()
            .max_size(options.max_connections)
            .test_on_check_out(false)
            .connection_timeout(options.acquire_timeout)
            .build(connection::Manager::new(url))
            .map_err(|source| StoreInitError::Connect { backend, source })?;
        let db = Self { pool, backend };
        if options.migrate {
            db.migrate()?;
        }
        Ok(db)
    }

    /// `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        self.backend
    }

    /// Applies pending migrations; returns the versions applied.
    pub fn migrate(&self) -> Result<Vec<String>, StoreInitError> {
        let mut conn = self.pool.get().map_err(|source| StoreInitError::Connect { backend: self.backend, source })?;
        connection::run_migrations(&mut conn)
    }

    /// Reverts and re-applies every migration (for tests of `down.sql`).
    pub fn redo_migrations(&self) -> Result<(), StoreInitError> {
        let mut conn = self.pool.get().map_err(|source| StoreInitError::Connect { backend: self.backend, source })?;
        connection::redo_all_migrations(&mut conn)
    }

    fn conn(&self) -> Result<r2d2::PooledConnection<connection::Manager>, StoreError> {
        self.pool.get().map_err(|e| StoreError::Unavailable(Box::new(e)))
    }

    /// Whether the database answers.
    pub fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        conn.batch_execute("SELECT 1").map_err(db_store::failure)
    }

    /// Runs `f` on one connection without a transaction: for reads, and for single statements
    /// that are atomic by themselves.
    pub fn run<T, E>(&self, f: impl FnOnce(&mut DbStore<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let mut conn = self.conn()?;
        f(&mut DbStore::new(&mut conn))
    }

    /// Runs `f` in one transaction: committed when `f` succeeds (or fails with an error that
    /// [`CommitOnError::commit_anyway`]), rolled back otherwise. On SQLite the transaction is
    /// `BEGIN IMMEDIATE`, so a read-then-write never fails half-way on a lock upgrade.
    pub fn transaction<T, E>(&self, f: impl FnOnce(&mut DbStore<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError> + CommitOnError,
    {
        let mut conn = self.conn()?;
        let conn: &mut DbConnection = &mut conn;
        match conn {
            DbConnection::Sqlite(_) => {
                conn.batch_execute("BEGIN IMMEDIATE").map_err(db_store::failure)?;
                let result = f(&mut DbStore::new(conn));
                let commit = match &result {
                    Ok(_) => true,
                    Err(e) => e.commit_anyway(),
                };
                let end = if commit { "COMMIT" } else { "ROLLBACK" };
                match conn.batch_execute(end) {
                    Ok(()) => result,
                    Err(e) => {
                        let _ = conn.batch_execute("ROLLBACK");
                        Err(db_store::failure(e).into())
                    }
                }
            }
            DbConnection::Postgres(_) => {
                let mut outcome = None;
                let committed = conn.transaction::<_, diesel::result::Error, _>(|conn| {
                    let result = f(&mut DbStore::new(conn));
                    let commit = match &result {
                        Ok(_) => true,
                        Err(e) => e.commit_anyway(),
                    };
                    outcome = Some(result);
                    if commit { Ok(()) } else { Err(diesel::result::Error::RollbackTransaction) }
                });
                match (committed, outcome) {
                    (Ok(()) | Err(diesel::result::Error::RollbackTransaction), Some(result)) => result,
                    (Err(e), _) => Err(db_store::failure(e).into()),
                    (Ok(()), None) => Err(StoreError::Failure("transaction closure did not run".into()).into()),
                }
            }
        }
    }
}

impl token_core::store::OAuthStorage for Db {
    fn with_oauth_store<T>(
        &self,
        f: impl FnOnce(&mut dyn token_core::store::OAuthStore) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.run(|store| f(store))
    }

    fn with_oauth_transaction<T>(
        &self,
        f: impl FnOnce(&mut dyn token_core::store::OAuthStore) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.transaction(|store| f(store))
    }
}
