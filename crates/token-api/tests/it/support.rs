//! The test harness: a state on a fresh database with a manual clock, one administrator, one
//! learning area, and helpers to call the app.

use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::header;
use actix_web::{App, test, web};
use base64::Engine;
use time::OffsetDateTime;
use time::macros::datetime;
use token_api::AppState;
use token_core::clock::ManualClock;
use token_core::ids::{AccessTokenId, AccountId, LearningAreaId};
use token_core::model::{ExpiryPolicy, Role};
use token_core::secret::{HashParams, Password, SecretHasher};
use token_core::service::{self, Caller, CreateAccessToken, CreateAccount};
use token_oauth::{Authority, LeaseKeeper, OAuthConfig};
use token_store::{Db, PoolOptions};

pub const START: OffsetDateTime = datetime!(2026-03-01 12:00 UTC);

pub struct Harness {
    pub state: AppState,
    /// Renews the validation lease, as `tokend serve` does, so every test runs with validations
    /// answered from memory wherever the lease allows.
    _lease: LeaseKeeper,
    pub clock: ManualClock,
    pub admin: AccountId,
    pub area: LearningAreaId,
}

pub struct Client {
    pub id: AccessTokenId,
    pub client_id: String,
    pub secret: String,
}

impl Harness {
    pub fn new(url: &str) -> Self {
        let mut harness = Self::new_without_area(url);
        harness.area = harness.learning_area("Sales");
        harness
    }

    /// One administrator and no learning area at all.
    pub fn new_without_area(url: &str) -> Self {
        let db = Db::connect(url, PoolOptions::default()).unwrap();
        let clock = ManualClock::new(START);
        let hasher = SecretHasher::new(HashParams::insecure_for_tests()).unwrap();
        let authority = authority(&hasher);
        let state = AppState {
            db,
            clock: Arc::new(clock.clone()),
            hasher,
            policy: ExpiryPolicy::default(),
            authority,
            login_throttle: Arc::new(token_oauth::guard::FailureThrottle::new(
                token_oauth::guard::ThrottleConfig::logins(),
            )),
            public_url: Some("https://tokend.example.com".to_owned()),
        };
        let lease = lease_keeper(&state);
        let mut harness = Self { state, _lease: lease, clock, admin: AccountId::new(0), area: LearningAreaId::new(0) };
        harness.admin = harness.account("admin@example.com", Role::Administrator);
        harness
    }

    pub fn account(&self, email: &str, role: Role) -> AccountId {
        let caller = if self.admin.get() == 0 { Caller::System } else { Caller::Account(self.admin) };
        let new = CreateAccount {
            email: email.into(),
            display_name: "Someone".into(),
            role,
            password: Password::new(PASSWORD).unwrap(),
        };
        self.state
            .db
            .transaction(|s| service::create_account(s, &self.clock, &self.state.hasher, caller, new))
            .unwrap()
            .id
    }

    pub fn learning_area(&self, name: &str) -> LearningAreaId {
        let caller = Caller::Account(self.admin);
        self.state.db.transaction(|s| service::create_learning_area(s, &self.clock, caller, name)).unwrap().id
    }

    pub fn client(&self) -> Client {
        self.client_in(self.area, self.admin, None)
    }

    pub fn client_in(&self, area: LearningAreaId, creator: AccountId, expires_at: Option<OffsetDateTime>) -> Client {
        let request = CreateAccessToken { learning_area_id: Some(area), name: "Zapier".into(), expires_at };
        let created = self
            .state
            .db
            .transaction(|s| {
                service::create_access_token(
                    s,
                    &self.clock,
                    &self.state.hasher,
                    &self.state.policy,
                    Caller::Account(creator),
                    request,
                )
            })
            .unwrap();
        Client {
            id: created.details.record.token.id,
            client_id: created.details.record.token.client_id.to_string(),
            secret: created.client_secret.expose().to_owned(),
        }
    }

    pub fn revoke(&self, id: AccessTokenId) {
        self.write(|s| service::revoke_access_token(s, &self.clock, Caller::Account(self.admin), id));
    }

    /// A write made beside the app (as another instance or the CLI would): one transaction,
    /// then the revocation fence every writer observes before reporting success.
    pub fn write<T>(&self, f: impl FnOnce(&mut token_store::DbStore<'_>) -> Result<T, token_core::CoreError>) -> T {
        let value = self.state.db.transaction(f).unwrap();
        std::thread::sleep(self.state.authority.revocation_fence());
        value
    }

    pub async fn app(
        &self,
    ) -> impl Service<actix_http::Request, Response = ServiceResponse<impl MessageBody>, Error = actix_web::Error> {
        app_of(&self.state).await
    }

    /// Another tokend instance on the same database, as a second process would be: its own
    /// connection pool, authority, validation cache and lease keeper.
    pub fn another_instance(&self, url: &str) -> Instance {
        let db = Db::connect(url, PoolOptions { migrate: false, ..PoolOptions::default() }).unwrap();
        let authority = authority(&self.state.hasher);
        let state = AppState { db, authority, ..self.state.clone() };
        let lease = lease_keeper(&state);
        Instance { state, lease: Some(lease) }
    }
}

/// A second instance (see [`Harness::another_instance`]).
pub struct Instance {
    pub state: AppState,
    pub lease: Option<LeaseKeeper>,
}

impl Instance {
    pub async fn app(
        &self,
    ) -> impl Service<actix_http::Request, Response = ServiceResponse<impl MessageBody>, Error = actix_web::Error> {
        app_of(&self.state).await
    }
}

pub async fn app_of(
    state: &AppState,
) -> impl Service<actix_http::Request, Response = ServiceResponse<impl MessageBody>, Error = actix_web::Error> {
    test::init_service(App::new().app_data(web::Data::new(state.clone())).configure(token_api::configure)).await
}

/// Runs an async test body on an actix system.
pub fn run<F: std::future::Future<Output = ()>>(body: F) {
    actix_rt::System::new().block_on(body);
}

pub fn basic(client_id: &str, secret: &str) -> (header::HeaderName, String) {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{secret}"));
    (header::AUTHORIZATION, format!("Basic {encoded}"))
}

pub fn form() -> (header::HeaderName, &'static str) {
    (header::CONTENT_TYPE, "application/x-www-form-urlencoded")
}

/// A response's status, headers and JSON body.
pub struct Answer {
    pub status: u16,
    pub headers: header::HeaderMap,
    pub json: serde_json::Value,
}

impl Answer {
    pub fn header(&self, name: header::HeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Signs in through the API; returns the session token.
pub async fn login<S, B>(app: &S, email: &str) -> String
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let req = test::TestRequest::post()
        .uri("/admin/v1/session")
        .set_json(serde_json::json!({"email": email, "password": PASSWORD}))
        .to_request();
    let answer = call(app, req).await;
    assert_eq!(answer.status, 200, "login {email}: {}", answer.json);
    answer.json["token"].as_str().unwrap().to_owned()
}

/// Every harness account's password.
pub const PASSWORD: &str = "a long enough password";

/// A JSON request with a session token.
pub fn admin(
    method: actix_web::http::Method,
    path: &str,
    session: &str,
    body: Option<serde_json::Value>,
) -> actix_http::Request {
    let req = test::TestRequest::default()
        .method(method)
        .uri(path)
        .insert_header((header::AUTHORIZATION, format!("Bearer {session}")));
    match body {
        Some(body) => req.set_json(body).to_request(),
        None => req.to_request(),
    }
}

pub async fn call<S, B>(app: &S, req: actix_http::Request) -> Answer
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let response = test::call_service(app, req).await;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = test::read_body(response).await;
    let json = if bytes.is_empty() { serde_json::Value::Null } else { serde_json::from_slice(&bytes).unwrap() };
    Answer { status, headers, json }
}

/// Trades a client's credentials for a bearer token (client_secret_basic), asserting success.
pub async fn issue_bearer<S, B>(app: &S, client: &Client) -> String
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let req = test::TestRequest::post()
        .uri("/oauth/token")
        .insert_header(form())
        .insert_header(basic(&client.client_id, &client.secret))
        .set_payload("grant_type=client_credentials");
    let answer = call(app, req.to_request()).await;
    assert_eq!(answer.status, 200, "{}", answer.json);
    answer.json["access_token"].as_str().unwrap().to_owned()
}

/// `GET /api/v1/me` with a bearer token.
pub fn get_me(bearer: &str) -> actix_http::Request {
    test::TestRequest::get()
        .uri("/api/v1/me")
        .insert_header((header::AUTHORIZATION, format!("Bearer {bearer}")))
        .to_request()
}

/// An authority as `tokend serve` builds one, with an argon2 budget tests never reach.
fn authority(hasher: &SecretHasher) -> Arc<Authority> {
    let config = OAuthConfig { max_verifications_per_second: 10_000, ..OAuthConfig::default() };
    Arc::new(Authority::new(config, hasher.clone()).unwrap())
}

/// Renews `state`'s validation lease until dropped, as `tokend serve` does.
fn lease_keeper(state: &AppState) -> LeaseKeeper {
    LeaseKeeper::spawn(state.authority.clone(), state.db.clone(), state.clock.clone()).unwrap()
}
