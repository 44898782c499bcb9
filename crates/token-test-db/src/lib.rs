//! Dev-only: gives every test its own database, so tests run in parallel and never see each
//! other's data.
//!
//! - SQLite: a file in a fresh temporary folder (not `:memory:`, where each pooled connection
//!   would see a different empty database), removed when the [`TestDb`] drops.
//! - PostgreSQL: a fresh schema on the server named by `TOKEND_TEST_POSTGRES_URL`, selected
//!   through `search_path` in the returned URL, dropped when the [`TestDb`] drops.
//!
//! When `TOKEND_TEST_POSTGRES_URL` is unset the PostgreSQL half of [`backend_tests!`] is
//! skipped, unless `TOKEND_REQUIRE_POSTGRES=1`, in which case it fails: CI sets both, so a
//! missing server can never pass as green.

use diesel::Connection;
use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;

/// The variable naming the PostgreSQL server for tests.
pub const POSTGRES_URL_VAR: &str = "TOKEND_TEST_POSTGRES_URL";
/// Set to `1` to make a skipped PostgreSQL test fail.
pub const REQUIRE_POSTGRES_VAR: &str = "TOKEND_REQUIRE_POSTGRES";

enum Cleanup {
    Folder(std::path::PathBuf),
    Schema { base_url: String, schema: String },
}

/// One test's own database.
pub struct TestDb {
    url: String,
    cleanup: Cleanup,
}

fn random_suffix() -> String {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).unwrap_or_else(|e| panic!("no randomness: {e}"));
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl TestDb {
    /// A SQLite database in a new temporary folder.
    pub fn sqlite() -> Self {
        let folder = std::env::temp_dir().join(format!("tokend-test-{}", random_suffix()));
        std::fs::create_dir_all(&folder).unwrap_or_else(|e| panic!("cannot create {}: {e}", folder.display()));
        let url = format!("sqlite://{}", folder.join("tokend.db").display());
        Self { url, cleanup: Cleanup::Folder(folder) }
    }

    /// A fresh schema on the configured PostgreSQL server; `None` (and a note on stderr) when
    /// none is configured and none is required.
    pub fn postgres() -> Option<Self> {
        let Ok(base_url) = std::env::var(POSTGRES_URL_VAR) else {
            if std::env::var(REQUIRE_POSTGRES_VAR).is_ok_and(|v| v == "1") {
                panic!(
                    "{REQUIRE_POSTGRES_VAR}=1 but {POSTGRES_URL_VAR} is not set: PostgreSQL tests may not be skipped"
                );
            }
            eprintln!("skipped: {POSTGRES_URL_VAR} is not set, PostgreSQL half of this test not run");
            return None;
        };
        let schema = format!("t_{}", random_suffix());
        let mut conn = PgConnection::establish(&base_url)
            .unwrap_or_else(|e| panic!("{POSTGRES_URL_VAR} is set but PostgreSQL is unreachable: {e}"));
        conn.batch_execute(&format!("CREATE SCHEMA {schema}"))
            .unwrap_or_else(|e| panic!("cannot create schema {schema}: {e}"));
        let separator = if base_url.contains('?') { '&' } else { '?' };
        let url = format!("{base_url}{separator}options=-csearch_path%3D{schema}");
        Some(Self { url, cleanup: Cleanup::Schema { base_url, schema } })
    }

    /// The database URL to hand to `token_store::Db::connect` or `tokend --database-url`.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::Folder(folder) => {
                let _ = std::fs::remove_dir_all(folder);
            }
            Cleanup::Schema { base_url, schema } => {
                if let Ok(mut conn) = PgConnection::establish(base_url) {
                    let _ = conn.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
                }
            }
        }
    }
}

/// Declares tests that take a database URL, and runs each twice: `sqlite::NAME` and
/// `postgres::NAME`.
///
/// ```ignore
/// token_test_db::backend_tests! {
///     fn creates_a_learning_area(url: &str) { /* … */ }
/// }
/// ```
#[macro_export]
macro_rules! backend_tests {
    ($( $(#[$meta:meta])* fn $name:ident($url:ident: &str) $body:block )*) => {
        $( $(#[$meta])* fn $name($url: &str) $body )*

        mod sqlite {
            $(
                #[test]
                fn $name() {
                    let db = $crate::TestDb::sqlite();
                    super::$name(db.url());
                }
            )*
        }

        mod postgres {
            $(
                #[test]
                fn $name() {
                    if let Some(db) = $crate::TestDb::postgres() {
                        super::$name(db.url());
                    }
                }
            )*
        }
    };
}
