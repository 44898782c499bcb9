//! Creating and dropping the PostgreSQL schema of one benchmark run. The run's database URL
//! selects it with `?options=-csearch_path%3D<schema>`, the same way the tests isolate
//! themselves, so a run never touches anything else on the server.

use diesel::Connection;
use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;

pub fn run(action: &str, database_url: &str, schema: &str) -> Result<(), String> {
    // The name is interpolated into SQL, so only a plain identifier is accepted.
    let plain = !schema.is_empty()
        && schema.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !schema.as_bytes()[0].is_ascii_digit();
    if !plain {
        return Err(format!("schema name {schema:?} must be ASCII letters, digits and underscores"));
    }
    let mut conn = PgConnection::establish(database_url).map_err(|e| format!("cannot connect to PostgreSQL: {e}"))?;
    let sql = match action {
        "create" => format!("CREATE SCHEMA {schema}"),
        _ => format!("DROP SCHEMA IF EXISTS {schema} CASCADE"),
    };
    conn.batch_execute(&sql).map_err(|e| format!("`{sql}` failed: {e}"))
}
