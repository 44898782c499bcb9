//! The command line: `serve`, `migrate`, `purge`, and the admin commands that act on the
//! database directly (as the system, with the operator's access to the server).

use std::io::{BufRead, IsTerminal};

use clap::{Parser, Subcommand};
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime};
use token_core::CoreError;
use token_core::clock::SystemClock;
use token_core::model::{Email, Role, StatusFilter};
use token_core::secret::{Password, SecretHasher};
use token_core::service::{self, Caller, CreateAccessToken, CreateAccount, ListAccessTokens, rfc3339};
use token_store::{Db, PoolOptions};

use crate::config::{Common, Serve};

/// tokend: scoped, revocable API credentials for a learning platform.
#[derive(Debug, Parser)]
#[command(name = "tokend", version, about)]
pub struct Cli {
    #[command(flatten)]
    common: Common,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP service (applies pending migrations first).
    Serve(Serve),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Delete bearer tokens that can never work again (expired, revoked, or of a dead access
    /// token) and ended or expired admin sessions.
    Purge,
    /// Manage administrator and manager accounts.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Manage learning areas.
    #[command(subcommand)]
    Area(AreaCommand),
    /// Manage access tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Create a demo learning area ("Demo Academy") with sample data and an access token for
    /// it; prints the credentials and curl commands. Re-running reuses the area.
    Demo,
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Create an account. The password is read from a prompt, or from the first line of
    /// standard input when it is not a terminal; never from the command line.
    Create {
        /// Login email.
        #[arg(long)]
        email: String,
        /// Display name (default: the part of the email before @).
        #[arg(long)]
        display_name: Option<String>,
        /// `administrator` or `manager`.
        #[arg(long, default_value = "administrator")]
        role: String,
    },
}

#[derive(Debug, Subcommand)]
enum AreaCommand {
    /// Create a learning area.
    Create {
        /// Its name.
        name: String,
    },
    /// List learning areas.
    List,
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create an access token; prints its client ID and secret, once.
    Create {
        /// Learning area id.
        #[arg(long)]
        area: i64,
        /// Token name.
        #[arg(long)]
        name: String,
        /// Expiry: an RFC 3339 time or a date (YYYY-MM-DD, midnight UTC). Default: one year.
        #[arg(long)]
        expires: Option<String>,
        /// The administrator the token acts as (default: the oldest active administrator).
        #[arg(long = "as")]
        as_email: Option<String>,
    },
    /// List access tokens, newest first.
    List {
        /// Only this learning area.
        #[arg(long)]
        area: Option<i64>,
        /// Only this status: active, expired, revoked or suspended.
        #[arg(long)]
        status: Option<String>,
        /// At most this many (1 to 500).
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Revoke an access token: immediate and irreversible.
    Revoke {
        /// Access token id.
        id: i64,
    },
}

pub fn run(cli: Cli) -> Result<(), String> {
    let common = cli.common;
    match cli.command {
        Command::Serve(serve) => crate::serve::run(&common, &serve),
        Command::Demo => crate::demo::run(&common),
        Command::Migrate => {
            let db = open(&common, false)?;
            let applied = db.migrate().map_err(|e| e.to_string())?;
            if applied.is_empty() {
                println!("the {} database is up to date", db.backend());
            } else {
                println!(
                    "applied {} migration(s) to the {} database: {}",
                    applied.len(),
                    db.backend(),
                    applied.join(", ")
                );
            }
            Ok(())
        }
        Command::Purge => {
            let db = open(&common, true)?;
            let deleted = db
                .run(|s| {
                    token_core::store::OAuthStore::purge_bearer_tokens(s, token_core::clock::Clock::now(&SystemClock))
                })
                .map_err(|e| e.to_string())?;
            let sessions = db.run(|s| service::purge_sessions(s, &SystemClock)).map_err(describe)?;
            println!("purged {deleted} bearer token(s) and {sessions} admin session(s)");
            Ok(())
        }
        Command::Admin(AdminCommand::Create { email, display_name, role }) => {
            let role = Role::parse(&role).ok_or("--role must be administrator or manager")?;
            let display_name = display_name.unwrap_or_else(|| email.split('@').next().unwrap_or(&email).to_owned());
            let password = read_password()?;
            let db = open(&common, true)?;
            let hasher = hasher(&common)?;
            let account = db
                .transaction(|s| {
                    service::create_account(
                        s,
                        &SystemClock,
                        &hasher,
                        Caller::System,
                        CreateAccount { email, display_name, role, password },
                    )
                })
                .map_err(describe)?;
            println!("created {} account {} ({})", account.role, account.id, account.email);
            Ok(())
        }
        Command::Area(AreaCommand::Create { name }) => {
            let db = open(&common, true)?;
            let area = db
                .transaction(|s| service::create_learning_area(s, &SystemClock, Caller::System, &name))
                .map_err(describe)?;
            println!("created learning area {}: {}", area.id, area.name);
            Ok(())
        }
        Command::Area(AreaCommand::List) => {
            let db = open(&common, true)?;
            let areas = db.run(|s| service::list_learning_areas(s, Caller::System)).map_err(describe)?;
            println!("ID\tNAME\tCREATED");
            for area in areas {
                println!("{}\t{}\t{}", area.id, area.name, rfc3339(area.created_at));
            }
            Ok(())
        }
        Command::Token(TokenCommand::Create { area, name, expires, as_email }) => {
            let expires_at = expires.as_deref().map(parse_expiry).transpose()?;
            let db = open(&common, true)?;
            let hasher = hasher(&common)?;
            let policy = common.expiry_policy()?;
            let created = db
                .transaction(|s| {
                    let creator = acting_administrator(s, as_email.as_deref())?;
                    let request = CreateAccessToken {
                        learning_area_id: Some(token_core::ids::LearningAreaId::new(area)),
                        name,
                        expires_at,
                    };
                    service::create_access_token(s, &SystemClock, &hasher, &policy, Caller::Account(creator), request)
                })
                .map_err(describe)?;
            let token = &created.details.record.token;
            println!("created access token {}: {}", token.id, token.name);
            println!("learning area: {} ({})", created.details.record.learning_area.name, token.learning_area_id);
            println!("expires:       {}", rfc3339(token.expires_at));
            println!("client ID:     {}", token.client_id);
            println!("client secret: {}", created.client_secret.expose());
            println!(
                "This secret is shown only now: store it securely. If it is lost, revoke this token and create a new one."
            );
            Ok(())
        }
        Command::Token(TokenCommand::List { area, status, limit }) => {
            let status = status
                .as_deref()
                .map(|s| StatusFilter::parse(s).ok_or("--status must be active, expired, revoked or suspended"))
                .transpose()?;
            let db = open(&common, true)?;
            let page = db
                .run(|s| {
                    service::list_access_tokens(
                        s,
                        &SystemClock,
                        Caller::System,
                        ListAccessTokens {
                            status,
                            learning_area_id: area.map(token_core::ids::LearningAreaId::new),
                            limit: Some(limit),
                            ..Default::default()
                        },
                    )
                })
                .map_err(describe)?;
            println!("ID\tNAME\tCLIENT ID\tAREA\tSTATUS\tEXPIRES\tLAST USED");
            for t in page.items {
                let token = &t.record.token;
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    token.id,
                    token.name,
                    token.client_id,
                    t.record.learning_area.name,
                    t.status.as_str(),
                    rfc3339(token.expires_at),
                    token.last_used_at.map_or_else(|| "never".to_owned(), rfc3339),
                );
            }
            Ok(())
        }
        Command::Token(TokenCommand::Revoke { id }) => {
            let db = open(&common, true)?;
            let lease = common.lease_config()?;
            let (revoked, fence) = db
                .transaction(|s| {
                    lease.fenced(s, |s| {
                        service::revoke_access_token(
                            s,
                            &SystemClock,
                            Caller::System,
                            token_core::ids::AccessTokenId::new(id),
                        )
                    })
                })
                .map_err(describe)?;
            // Like the admin API: report the revocation only once no running instance can
            // still answer from a validation cached before it.
            std::thread::sleep(fence);
            let at = revoked.record.token.revoked_at.map(rfc3339).unwrap_or_default();
            println!("access token {} is {} (since {at})", revoked.record.token.id, revoked.status.as_str());
            Ok(())
        }
    }
}

fn open(common: &Common, migrate: bool) -> Result<Db, String> {
    Db::connect(&common.database_url, PoolOptions { migrate, max_connections: 2, ..PoolOptions::default() })
        .map_err(|e| e.to_string())
}

pub fn hasher(common: &Common) -> Result<SecretHasher, String> {
    SecretHasher::new(common.hash_params()).map_err(describe)
}

fn describe(error: CoreError) -> String {
    error.to_string()
}

/// The administrator a CLI-created token acts as.
fn acting_administrator(
    store: &mut impl token_core::store::Store,
    email: Option<&str>,
) -> Result<token_core::ids::AccountId, CoreError> {
    let account = match email {
        Some(email) => {
            let email = Email::parse("as", email).map_err(|e| CoreError::Invalid(vec![e]))?;
            store.account_credentials(&email)?.map(|(a, _)| a)
        }
        None => store.list_accounts()?.into_iter().find(|a| a.is_active_administrator()),
    };
    match account {
        Some(a) if a.is_active_administrator() => Ok(a.id),
        _ => Err(CoreError::invalid(
            "as",
            "no active administrator to act as: create one with `tokend admin create --email …` or start `tokend serve` once",
        )),
    }
}

fn parse_expiry(raw: &str) -> Result<OffsetDateTime, String> {
    if let Ok(at) = OffsetDateTime::parse(raw, &Rfc3339) {
        return Ok(at);
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(raw, &format)
        .map(|d| d.midnight().assume_utc())
        .map_err(|_| format!("--expires: expected YYYY-MM-DD or an RFC 3339 time, got {raw:?}"))
}

fn read_password() -> Result<Password, String> {
    let raw = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ").map_err(|e| e.to_string())?;
        let again = rpassword::prompt_password("Repeat password: ").map_err(|e| e.to_string())?;
        if first != again {
            return Err("the passwords differ".to_owned());
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map_err(|e| e.to_string())?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    };
    Password::new(&raw).map_err(describe)
}
