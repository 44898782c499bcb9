//! `tokend-bench fill`: loads a fresh database with what the benchmark scenarios need, through
//! the store's own connection (migrations, SQLite pragmas and all), not through HTTP.
//!
//! - one active administrator with a known password (the admin API scenario logs in as it);
//! - learning areas, and access tokens spread over them round-robin;
//! - `--clients` access tokens with secrets of their own, hashed with argon2id at the default
//!   cost, for the token endpoint scenario; every other access token shares one hash, since
//!   nobody authenticates as them (hashing a million secrets would take hours);
//! - bearer tokens, valid for a day, for a share of the access tokens, spread over the id range
//!   so validation reads all over the table rather than one hot corner.
//!
//! Access token and bearer token ids are given explicitly (1, 2, …): the database is known to
//! be empty, and knowing the ids lets bearer tokens point at their access tokens without
//! reading anything back. On PostgreSQL the identity sequences are moved past them afterwards.
//!
//! Output, in `--out` (plain lines, so the std-only xtask and wrk's Lua read them with no
//! parser): `bearers.txt` (one bearer token per line), `clients.txt` and `flood.txt` (ready
//! form bodies for `POST /oauth/token`: valid secrets, and well-formed wrong secrets for
//! existing client ids), and `fill.txt` (`key=value`: admin credentials, the deep-page cursor,
//! counts, timing).

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;
use diesel::prelude::*;
use time::{Duration, OffsetDateTime, PrimitiveDateTime, UtcOffset};
use token_core::clock::{Clock, SystemClock};
use token_core::secret::{ClientId, ClientSecret, HashParams, Password, SecretHasher, TokenFormat, fast_hash};
use token_store::schema::{access_tokens, accounts, bearer_tokens, learning_areas};
use token_store::{Db, DbConnection, PoolOptions};

/// Rows per INSERT statement: 8 columns × 1 000 rows stays under both SQLite's (32 766) and
/// PostgreSQL's (65 535) limit on bound parameters.
const ROWS_PER_STATEMENT: u64 = 1_000;
/// Rows per transaction: few enough commits that SQLite's `synchronous=FULL` fsyncs do not
/// dominate, small enough that a transaction's memory stays modest.
const ROWS_PER_TRANSACTION: u64 = 20_000;
/// The page size of the admin list scenario; the deep cursor leaves one full page below it.
const PAGE: u64 = 50;

#[derive(Debug, Args)]
pub struct FillArgs {
    /// `sqlite://PATH` or `postgres://…`; the database must be empty (migrations are applied).
    #[arg(long)]
    database_url: String,
    /// Access tokens to create.
    #[arg(long, default_value_t = 100_000)]
    tokens: u64,
    /// Learning areas to spread them over.
    #[arg(long, default_value_t = 100)]
    areas: u64,
    /// Bearer tokens to create, each for a different access token.
    #[arg(long, default_value_t = 10_000)]
    bearers: u64,
    /// Access tokens whose secrets are written out (each hashed separately: ~50 ms apiece).
    #[arg(long, default_value_t = 200)]
    clients: u64,
    /// Other client ids to write out with wrong secrets, for the flood scenario.
    #[arg(long, default_value_t = 1_000)]
    flood: u64,
    /// Folder for the output files (created if missing).
    #[arg(long)]
    out: PathBuf,
}

impl FillArgs {
    fn check(&self) -> Result<(), String> {
        if self.tokens == 0 || self.areas == 0 {
            return Err("--tokens and --areas must be at least 1".to_owned());
        }
        if self.bearers > self.tokens || self.clients + self.flood > self.tokens {
            return Err("--bearers, and --clients plus --flood, may not exceed --tokens".to_owned());
        }
        Ok(())
    }
}

/// Which access token (by 0-based row number) plays which part: each part takes every
/// `stride`-th row from its own offset, so the rows it uses are spread over the whole table.
#[derive(Debug, Clone, Copy)]
struct Share {
    stride: u64,
    offset: u64,
    count: u64,
}

impl Share {
    fn new(total: u64, count: u64, offset_in_stride: fn(u64) -> u64) -> Self {
        let stride = total.checked_div(count).map_or(u64::MAX, |stride| stride.max(1));
        Self { stride, offset: offset_in_stride(stride), count }
    }

    /// The position of `row` among the chosen rows, if it is one.
    fn index(&self, row: u64) -> Option<usize> {
        let chosen = row >= self.offset && (row - self.offset).is_multiple_of(self.stride);
        let index = if chosen { (row - self.offset) / self.stride } else { u64::MAX };
        (index < self.count).then_some(index as usize)
    }
}

/// An error on the way, as text: the command prints it and exits non-zero.
#[derive(Debug)]
struct Failed(String);

impl From<token_core::StoreError> for Failed {
    fn from(e: token_core::StoreError) -> Self {
        Self(e.to_string())
    }
}

impl From<diesel::result::Error> for Failed {
    fn from(e: diesel::result::Error) -> Self {
        Self(format!("database: {e}"))
    }
}

impl From<token_core::CoreError> for Failed {
    fn from(e: token_core::CoreError) -> Self {
        Self(e.to_string())
    }
}

/// A client whose secret the scenarios present.
struct Client {
    id: ClientId,
    secret: ClientSecret,
    hash: String,
}

#[derive(Insertable)]
#[diesel(table_name = access_tokens)]
struct TokenRow<'a> {
    id: i64,
    learning_area_id: i64,
    name: String,
    client_id: String,
    secret_hash: &'a str,
    created_by: i64,
    created_at: PrimitiveDateTime,
    expires_at: PrimitiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = bearer_tokens)]
struct BearerRow {
    id: i64,
    token_hash: Vec<u8>,
    access_token_id: i64,
    issued_at: PrimitiveDateTime,
    expires_at: PrimitiveDateTime,
}

/// A multi-row INSERT on the concrete connection: diesel's `MultiConnection` cannot batch, and
/// one statement per thousand rows is what makes a million-row fill take seconds, not an hour.
macro_rules! insert_all {
    ($conn:expr, $table:expr, $rows:expr) => {
        match $conn {
            DbConnection::Sqlite(c) => diesel::insert_into($table).values($rows).execute(c),
            DbConnection::Postgres(c) => diesel::insert_into($table).values($rows).execute(c),
        }
    };
}

/// What the fill wrote, for the output files.
#[derive(Default)]
struct Written {
    admin_email: String,
    admin_password: String,
    bearers: Vec<String>,
    clients: Vec<String>,
    flood: Vec<String>,
}

pub fn run(args: &FillArgs) -> Result<(), String> {
    args.check()?;
    let started = Instant::now();
    let db = Db::connect(&args.database_url, PoolOptions { max_connections: 1, ..PoolOptions::default() })
        .map_err(|e| e.to_string())?;
    let hasher = SecretHasher::new(HashParams::default()).map_err(|e| e.to_string())?;
    let clients = hash_clients(&hasher, args.clients).map_err(|Failed(m)| m)?;
    let hashed = started.elapsed();
    let written = db.run(|store| fill(store.connection(), args, &hasher, &clients)).map_err(|Failed(m)| m)?;
    let elapsed = started.elapsed();

    let deep_before = args.tokens.min(PAGE + 1) + 1;
    let summary = [
        ("backend", db.backend().to_owned()),
        ("tokens", args.tokens.to_string()),
        ("areas", args.areas.to_string()),
        ("bearers", written.bearers.len().to_string()),
        ("clients", written.clients.len().to_string()),
        ("flood", written.flood.len().to_string()),
        ("admin_email", written.admin_email.clone()),
        ("admin_password", written.admin_password.clone()),
        ("oldest_id", "1".to_owned()),
        ("newest_id", args.tokens.to_string()),
        ("deep_before", deep_before.to_string()),
        ("hash_seconds", format!("{:.2}", hashed.as_secs_f64())),
        ("fill_seconds", format!("{:.2}", elapsed.as_secs_f64())),
    ];
    std::fs::create_dir_all(&args.out).map_err(|e| format!("cannot create {}: {e}", args.out.display()))?;
    write_lines(&args.out.join("bearers.txt"), &written.bearers)?;
    write_lines(&args.out.join("clients.txt"), &written.clients)?;
    write_lines(&args.out.join("flood.txt"), &written.flood)?;
    let summary: Vec<String> = summary.iter().map(|(k, v)| format!("{k}={v}")).collect();
    write_lines(&args.out.join("fill.txt"), &summary)?;
    println!(
        "filled {} access tokens in {} areas, {} bearer tokens, {} clients on {} in {:.1} s ({:.1} s of it hashing)",
        args.tokens,
        args.areas,
        written.bearers.len(),
        written.clients.len(),
        db.backend(),
        elapsed.as_secs_f64(),
        hashed.as_secs_f64()
    );
    Ok(())
}

/// Generates the scenario clients and hashes their secrets on every core: argon2id at the
/// default cost is the slow part of a small fill.
///
/// Everything that outlives the hashing (ids, secrets, room for the hashes) is allocated before
/// it starts. Each hash allocates and frees 19 MiB; a small long-lived allocation made in
/// between lands in the freed block, and glibc then takes the next 19 MiB from fresh memory:
/// 200 clients took 3.9 GiB of RSS that way, against a steady ~430 MiB now.
fn hash_clients(hasher: &SecretHasher, count: u64) -> Result<Vec<Client>, Failed> {
    let mut clients = (0..count)
        .map(|_| {
            Ok(Client {
                id: ClientId::generate()?,
                secret: ClientSecret::generate()?,
                hash: String::with_capacity(128),
            })
        })
        .collect::<Result<Vec<_>, Failed>>()?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per_thread = clients.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = clients
            .chunks_mut(per_thread)
            .map(|chunk| {
                scope.spawn(move || {
                    for client in chunk {
                        client.hash.push_str(hasher.hash_secret(&client.secret)?.as_phc());
                    }
                    Ok::<_, Failed>(())
                })
            })
            .collect();
        for handle in handles {
            handle.join().map_err(|_| Failed("a hashing thread panicked".to_owned()))??;
        }
        Ok::<_, Failed>(())
    })?;
    Ok(clients)
}

fn fill(
    conn: &mut DbConnection,
    args: &FillArgs,
    hasher: &SecretHasher,
    clients: &[Client],
) -> Result<Written, Failed> {
    let existing: i64 = accounts::table.count().get_result(conn)?;
    if existing > 0 {
        return Err(Failed("the database is not empty: fill needs a fresh one".to_owned()));
    }
    let now = SystemClock.now();
    let created_at = to_db(now - Duration::days(30));
    let token_expiry = to_db(now + Duration::days(365));
    let bearer_expiry = to_db(now + Duration::days(1));

    let mut written = Written { admin_email: "bench-admin@localhost".to_owned(), ..Written::default() };
    let password = Password::generate()?;
    written.admin_password = password.expose().to_owned();
    let password_hash = hasher.hash_password(&password)?;
    let filler_hash = hasher.hash_secret(&ClientSecret::generate()?)?;

    let (admin, areas) = conn.transaction(|conn| -> Result<_, Failed> {
        let admin: i64 = diesel::insert_into(accounts::table)
            .values((
                accounts::email.eq(&written.admin_email),
                accounts::display_name.eq("Benchmark administrator"),
                accounts::role.eq("administrator"),
                accounts::active.eq(true),
                accounts::password_hash.eq(password_hash.as_phc()),
                accounts::created_at.eq(created_at),
            ))
            .returning(accounts::id)
            .get_result(conn)?;
        let mut areas = Vec::new();
        for n in 1..=args.areas {
            let id: i64 = diesel::insert_into(learning_areas::table)
                .values((learning_areas::name.eq(format!("Bench area {n}")), learning_areas::created_at.eq(created_at)))
                .returning(learning_areas::id)
                .get_result(conn)?;
            areas.push(id);
        }
        Ok((admin, areas))
    })?;

    let client_share = Share::new(args.tokens, clients.len() as u64, |_| 0);
    let flood_share = Share::new(args.tokens, args.flood, |stride| stride / 2);
    let bearer_share = Share::new(args.tokens, args.bearers, |stride| stride / 3);
    let mut next_bearer_id = 1;
    let mut tx_start = 0;
    while tx_start < args.tokens {
        let tx_end = (tx_start + ROWS_PER_TRANSACTION).min(args.tokens);
        conn.transaction(|conn| -> Result<(), Failed> {
            let mut start = tx_start;
            while start < tx_end {
                let end = (start + ROWS_PER_STATEMENT).min(tx_end);
                let mut tokens = Vec::with_capacity((end - start) as usize);
                let mut bearers = Vec::new();
                for row in start..end {
                    let id = row as i64 + 1;
                    let (client_id, secret_hash) = match client_share.index(row) {
                        Some(i) => {
                            let client = &clients[i];
                            written.clients.push(token_form(client.id.as_str(), client.secret.expose()));
                            (client.id.as_str().to_owned(), client.hash.as_str())
                        }
                        None => {
                            let client_id = ClientId::generate()?;
                            if flood_share.index(row).is_some() {
                                let wrong = ClientSecret::generate()?;
                                written.flood.push(token_form(client_id.as_str(), wrong.expose()));
                            }
                            (client_id.as_str().to_owned(), filler_hash.as_phc())
                        }
                    };
                    tokens.push(TokenRow {
                        id,
                        learning_area_id: areas[row as usize % areas.len()],
                        name: format!("Bench token {id}"),
                        client_id,
                        secret_hash,
                        created_by: admin,
                        created_at,
                        expires_at: token_expiry,
                    });
                    if bearer_share.index(row).is_some() {
                        let plaintext = TokenFormat::BEARER.generate()?;
                        bearers.push(BearerRow {
                            id: next_bearer_id,
                            token_hash: fast_hash(&plaintext).to_vec(),
                            access_token_id: id,
                            issued_at: to_db(now),
                            expires_at: bearer_expiry,
                        });
                        next_bearer_id += 1;
                        written.bearers.push(plaintext);
                    }
                }
                insert_all!(&mut *conn, access_tokens::table, &tokens)?;
                if !bearers.is_empty() {
                    insert_all!(&mut *conn, bearer_tokens::table, &bearers)?;
                }
                start = end;
            }
            Ok(())
        })?;
        tx_start = tx_end;
    }

    if let DbConnection::Postgres(c) = conn {
        // Explicit ids do not advance identity sequences: without this the server's first
        // bearer token insert would collide with id 1. ANALYZE gives the planner what
        // autovacuum would soon give it on a table that grew the ordinary way.
        for table in ["access_tokens", "bearer_tokens"] {
            diesel::sql_query(format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)"
            ))
            .execute(c)?;
        }
        diesel::sql_query("ANALYZE").execute(c)?;
    }
    Ok(written)
}

/// The form body of a client credentials request (ids and secrets are base62 and `_`: nothing
/// to escape).
fn token_form(client_id: &str, client_secret: &str) -> String {
    format!("grant_type=client_credentials&client_id={client_id}&client_secret={client_secret}")
}

fn to_db(at: OffsetDateTime) -> PrimitiveDateTime {
    let at = at.to_offset(UtcOffset::UTC);
    PrimitiveDateTime::new(at.date(), at.time())
}

fn write_lines(path: &Path, lines: &[String]) -> Result<(), String> {
    let mut text = lines.join("\n");
    text.push('\n');
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::Share;

    #[test]
    fn shares_spread_over_the_rows_and_stop_at_their_count() {
        let share = Share::new(100, 10, |stride| stride / 2);
        let chosen: Vec<u64> = (0..100).filter(|&row| share.index(row).is_some()).collect();
        assert_eq!(chosen, [5, 15, 25, 35, 45, 55, 65, 75, 85, 95]);
        assert_eq!(share.index(95), Some(9));

        let all = Share::new(7, 7, |_| 0);
        assert_eq!((0..7).filter(|&row| all.index(row).is_some()).count(), 7);
        let none = Share::new(7, 0, |_| 0);
        assert_eq!((0..7).filter(|&row| none.index(row).is_some()).count(), 0);
        let uneven = Share::new(10, 3, |_| 0);
        assert_eq!((0..10).filter(|&row| uneven.index(row).is_some()).collect::<Vec<_>>(), [0, 3, 6]);
    }
}
