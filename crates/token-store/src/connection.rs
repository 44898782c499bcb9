//! One connection type over both backends, and the r2d2 manager that picks the backend by the
//! URL's scheme (diesel's own manager would try each variant in turn, and SQLite accepts almost
//! any string as a file name).

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::StoreInitError;

/// A connection to either backend; queries written once run on both.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    /// PostgreSQL, for deployments with several instances.
    Postgres(PgConnection),
    /// SQLite, the embedded default.
    Sqlite(SqliteConnection),
}

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// Which database a URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// `postgres://…` or `postgresql://…`, passed to libpq as is.
    Postgres(String),
    /// `sqlite://PATH` or `sqlite:PATH`; the path is a file.
    Sqlite(String),
}

impl DatabaseUrl {
    /// Parses a database URL; the scheme decides the backend.
    pub fn parse(url: &str) -> Result<Self, StoreInitError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres(url.to_owned()))
        } else if let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
            if path.is_empty() {
                return Err(StoreInitError::Url("sqlite:// needs a file path".to_owned()));
            }
            if path == ":memory:" {
                return Err(StoreInitError::Url(
                    "an in-memory SQLite database would differ per pooled connection; use a file".to_owned(),
                ));
            }
            Ok(Self::Sqlite(path.to_owned()))
        } else {
            Err(StoreInitError::Url("expected postgres://… or sqlite://PATH".to_owned()))
        }
    }

    /// The backend's name, for logs (never the URL itself: it may hold a password).
    pub fn backend(&self) -> &'static str {
        match self {
            Self::Postgres(_) => "postgres",
            Self::Sqlite(_) => "sqlite",
        }
    }
}

/// Opens connections for the pool.
#[derive(Debug, Clone)]
pub struct Manager {
    url: DatabaseUrl,
}

impl Manager {
    /// A manager for `url`.
    pub fn new(url: DatabaseUrl) -> Self {
        Self { url }
    }
}

/// SQLite settings applied to every connection:
/// - `foreign_keys`: the schema's references are enforced;
/// - `journal_mode=WAL`: readers do not block the writer;
/// - `synchronous=FULL`: a commit (an acknowledged revoke) is on disk before it returns, even
///   if the machine loses power right after;
/// - `busy_timeout`: writers queue for up to 5 s instead of failing at once.
const SQLITE_PRAGMAS: &str =
    "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;";

impl r2d2::ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = diesel::ConnectionError;

    fn connect(&self) -> Result<DbConnection, diesel::ConnectionError> {
        match &self.url {
            DatabaseUrl::Postgres(url) => PgConnection::establish(url).map(DbConnection::Postgres),
            DatabaseUrl::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(path)?;
                conn.batch_execute(SQLITE_PRAGMAS).map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), diesel::ConnectionError> {
        diesel::sql_query("SELECT 1")
            .execute(conn)
            .map(|_| ())
            .map_err(diesel::ConnectionError::CouldntSetupConfiguration)
    }

    fn has_broken(&self, _conn: &mut DbConnection) -> bool {
        false
    }
}

/// Applies the backend's pending migrations; returns the versions applied.
pub fn run_migrations(conn: &mut DbConnection) -> Result<Vec<String>, StoreInitError> {
    let applied = match conn {
        DbConnection::Postgres(conn) => conn.run_pending_migrations(POSTGRES_MIGRATIONS),
        DbConnection::Sqlite(conn) => conn.run_pending_migrations(SQLITE_MIGRATIONS),
    }
    .map_err(|e| StoreInitError::Migration(e.to_string()))?;
    Ok(applied.into_iter().map(|v| v.to_string()).collect())
}

/// Reverts and re-applies every migration (tests `down.sql`).
pub fn redo_all_migrations(conn: &mut DbConnection) -> Result<(), StoreInitError> {
    let result = match conn {
        DbConnection::Postgres(conn) => match conn.revert_all_migrations(POSTGRES_MIGRATIONS) {
            Ok(_) => conn.run_pending_migrations(POSTGRES_MIGRATIONS).map(|_| ()),
            Err(e) => Err(e),
        },
        DbConnection::Sqlite(conn) => match conn.revert_all_migrations(SQLITE_MIGRATIONS) {
            Ok(_) => conn.run_pending_migrations(SQLITE_MIGRATIONS).map(|_| ()),
            Err(e) => Err(e),
        },
    };
    result.map_err(|e| StoreInitError::Migration(e.to_string()))
}
