//! `tokend serve`: wiring the store, the OAuth2 authority and the HTTP API, the bootstrap
//! administrator, background jobs, and graceful shutdown (actix handles SIGTERM and SIGINT:
//! it stops accepting, lets in-flight requests finish, then exits).

use std::sync::Arc;
use std::time::Duration;

use actix_web::{App, HttpServer, web};
use token_api::AppState;
use token_core::clock::{Clock, SystemClock};
use token_core::model::Role;
use token_core::secret::Password;
use token_core::service::{self, Caller, CreateAccount};
use token_core::store::Store;
use token_oauth::guard::{FailureThrottle, ThrottleConfig};
use token_oauth::{Authority, LeaseKeeper};
use token_store::{Db, PoolOptions};

use crate::config::{Common, Serve};

pub fn run(common: &Common, serve: &Serve) -> Result<(), String> {
    let policy = common.expiry_policy()?;
    let oauth = serve.oauth_config(common)?;
    let db =
        Db::connect(&common.database_url, PoolOptions { max_connections: serve.pool_size, ..PoolOptions::default() })
            .map_err(|e| e.to_string())?;
    let hasher = crate::cli::hasher(common)?;
    bootstrap(&db, &hasher, &serve.bootstrap_email)?;
    let authority = Arc::new(Authority::new(oauth, hasher.clone()).map_err(|e| e.to_string())?);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let login_throttle = Arc::new(FailureThrottle::new(ThrottleConfig::logins()));
    let _lease = LeaseKeeper::spawn(authority.clone(), db.clone(), clock.clone()).map_err(|e| e.to_string())?;
    let state = AppState {
        db: db.clone(),
        clock,
        hasher,
        policy,
        authority,
        login_throttle,
        public_url: serve.public_url.clone(),
    };
    tracing::info!(bind = %serve.bind, database = db.backend(), "tokend starting");

    let bind = serve.bind.clone();
    let workers = serve.workers.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let pool_size = serve.pool_size;
    let purge_every = Duration::from_secs(serve.purge_interval_secs.max(1));
    actix_web::rt::System::new().block_on(async move {
        let data = web::Data::new(state);
        spawn_background_jobs(data.clone(), purge_every);
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .wrap(actix_web::middleware::from_fn(token_api::log_request))
                .configure(token_api::configure)
        })
        .shutdown_timeout(30)
        .workers(workers);
        // Each worker's blocking pool runs the database calls; more threads than connections
        // would only queue on the pool's lock, thrashing the scheduler under load.
        server = server.worker_max_blocking_threads((pool_size as usize / workers).max(2));
        let server = server.bind(&bind).map_err(|e| format!("cannot listen on {bind}: {e}"))?;
        for addr in server.addrs() {
            // Printed (not only logged) so scripts and tests can find a port chosen by the OS.
            println!("tokend listening on http://{addr}");
        }
        server.run().await.map_err(|e| e.to_string())?;
        tracing::info!("tokend stopped");
        Ok(())
    })
}

/// On the first start with no account at all, creates an administrator with a random password
/// and prints it once on standard output (never to the log).
fn bootstrap(db: &Db, hasher: &token_core::secret::SecretHasher, email: &str) -> Result<(), String> {
    let password = Password::generate().map_err(|e| e.to_string())?;
    let created = db
        .transaction(|s| {
            if s.count_accounts()? > 0 {
                return Ok(None);
            }
            let account = service::create_account(
                s,
                &SystemClock,
                hasher,
                Caller::System,
                CreateAccount {
                    email: email.to_owned(),
                    display_name: "Administrator".to_owned(),
                    role: Role::Administrator,
                    password: password.clone(),
                },
            )?;
            Ok::<_, token_core::CoreError>(Some(account))
        })
        .map_err(|e| e.to_string())?;
    if let Some(account) = created {
        println!("Created the initial administrator (shown once; store it now):");
        println!("  email:    {}", account.email);
        println!("  password: {}", password.expose());
        tracing::info!(account_id = %account.id, "created the initial administrator");
    }
    Ok(())
}

/// Writes noted `last_used_at` times every 5 s, and periodically purges dead bearer tokens and
/// ended admin sessions.
fn spawn_background_jobs(state: web::Data<AppState>, purge_every: Duration) {
    let usage_state = state.clone();
    actix_web::rt::spawn(async move {
        let mut tick = actix_web::rt::time::interval(Duration::from_secs(5));
        loop {
            tick.tick().await;
            let s = usage_state.clone();
            match web::block(move || s.authority.flush_usage(&s.db)).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "could not record token usage"),
                Err(_) => return,
            }
        }
    });
    actix_web::rt::spawn(async move {
        let mut tick = actix_web::rt::time::interval(purge_every);
        loop {
            tick.tick().await;
            let s = state.clone();
            match web::block(move || s.authority.purge(&s.db, &*s.clock)).await {
                Ok(Ok(0)) => {}
                Ok(Ok(n)) => tracing::info!(purged = n, "purged dead bearer tokens"),
                Ok(Err(e)) => tracing::warn!(error = %e, "could not purge bearer tokens"),
                Err(_) => return,
            }
            let s = state.clone();
            match web::block(move || s.db.run(|store| service::purge_sessions(store, &*s.clock))).await {
                Ok(Ok(0)) => {}
                Ok(Ok(n)) => tracing::info!(purged = n, "purged ended admin sessions"),
                Ok(Err(e)) => tracing::warn!(error = %e, "could not purge admin sessions"),
                Err(_) => return,
            }
        }
    });
}
