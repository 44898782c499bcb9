//! Store tests: every one runs on SQLite and on PostgreSQL (see `token_test_db::backend_tests!`).

#![allow(clippy::unwrap_used, reason = "tests: a panic is the failure report")]

use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use token_core::CoreError;
use token_core::audit::{Actor, AuditAction, AuditEvent};
use token_core::clock::ManualClock;
use token_core::ids::AccessTokenId;
use token_core::model::{ExpiryPolicy, Role, StatusFilter, TokenStatus};
use token_core::secret::{ClientId, HashParams, Password, SecretHasher, fast_hash};
use token_core::service::{self, Caller, CreateAccessToken, CreateAccount, ListAccessTokens};
use token_core::store::{NewBearerToken, OAuthStore, Store};
use token_store::{Db, PoolOptions};

const START: OffsetDateTime = datetime!(2026-03-01 12:00 UTC);

struct Fixture {
    db: Db,
    clock: ManualClock,
    hasher: SecretHasher,
    admin: Caller,
    area: token_core::ids::LearningAreaId,
}

fn fixture(url: &str) -> Fixture {
    let db = Db::connect(url, PoolOptions::default()).unwrap();
    let clock = ManualClock::new(START);
    let hasher = SecretHasher::new(HashParams::insecure_for_tests()).unwrap();
    let admin = db
        .transaction(|s| {
            service::create_account(
                s,
                &clock,
                &hasher,
                Caller::System,
                account("admin@example.com", Role::Administrator),
            )
        })
        .unwrap();
    let admin = Caller::Account(admin.id);
    let area = db.transaction(|s| service::create_learning_area(s, &clock, admin, "Sales")).unwrap().id;
    Fixture { db, clock, hasher, admin, area }
}

fn account(email: &str, role: Role) -> CreateAccount {
    CreateAccount {
        email: email.into(),
        display_name: "Someone".into(),
        role,
        password: Password::new("a long enough password").unwrap(),
    }
}

impl Fixture {
    fn create(&self, name: &str, expires_at: Option<OffsetDateTime>) -> service::CreatedAccessToken {
        self.create_as(self.admin, name, expires_at)
    }

    fn create_as(&self, caller: Caller, name: &str, expires_at: Option<OffsetDateTime>) -> service::CreatedAccessToken {
        let request = CreateAccessToken { learning_area_id: Some(self.area), name: name.into(), expires_at };
        self.db
            .transaction(|s| {
                service::create_access_token(s, &self.clock, &self.hasher, &ExpiryPolicy::default(), caller, request)
            })
            .unwrap()
    }

    fn list(&self, request: ListAccessTokens) -> Vec<AccessTokenId> {
        let page = self.db.run(|s| service::list_access_tokens(s, &self.clock, self.admin, request)).unwrap();
        page.items.into_iter().map(|t| t.record.token.id).collect()
    }

    fn audit_count(&self) -> i64 {
        use diesel::prelude::*;
        self.db
            .run(|s| {
                token_store::schema::audit_events::table
                    .count()
                    .get_result::<i64>(s.connection())
                    .map_err(|e| token_core::StoreError::Failure(Box::new(e)))
            })
            .unwrap()
    }
}

token_test_db::backend_tests! {
    fn migrations_apply_and_redo_cleanly(url: &str) {
        let db = Db::connect(url, PoolOptions::default()).unwrap();
        assert!(db.migrate().unwrap().is_empty(), "a second run applies nothing");
        db.redo_migrations().unwrap();
        db.ping().unwrap();
    }

    fn a_created_token_reads_back_with_its_area_and_creator(url: &str) {
        let f = fixture(url);
        let created = f.create("Zapier - Sales", None);
        let id = created.details.record.token.id;
        let read = f.db.run(|s| service::get_access_token(s, &f.clock, f.admin, id)).unwrap();
        assert_eq!(read, created.details);
        assert_eq!(read.record.token.expires_at, START + Duration::days(365));
        assert_eq!(read.record.learning_area.name.as_str(), "Sales");
        assert_eq!(read.status, TokenStatus::Active);
    }

    fn the_secret_is_stored_only_as_an_argon2id_hash(url: &str) {
        let f = fixture(url);
        let created = f.create("Zapier", None);
        let client = f.db.run(|s| s.client(&created.details.record.token.client_id)).unwrap().unwrap();
        assert!(client.secret_hash.as_phc().starts_with("$argon2id$"));
        assert!(!client.secret_hash.as_phc().contains(created.client_secret.expose()));
        assert!(f.hasher.verify(Some(&client.secret_hash), created.client_secret.expose()));
    }

    fn a_failed_operation_writes_nothing_not_even_its_audit_event(url: &str) {
        let f = fixture(url);
        let before = f.audit_count();
        let result: Result<(), CoreError> = f.db.transaction(|s| {
            service::create_learning_area(s, &f.clock, f.admin, "Marketing")?;
            Err(CoreError::Forbidden)
        });
        assert!(result.is_err());
        assert_eq!(f.audit_count(), before);
        let areas = f.db.run(|s| service::list_learning_areas(s, f.admin)).unwrap();
        assert_eq!(areas.len(), 1);
    }

    fn each_change_is_audited_in_its_transaction(url: &str) {
        let f = fixture(url);
        let before = f.audit_count();
        let id = f.create("Zapier", None).details.record.token.id;
        f.db.transaction(|s| service::revoke_access_token(s, &f.clock, f.admin, id)).unwrap();
        f.db.transaction(|s| service::revoke_access_token(s, &f.clock, f.admin, id)).unwrap();
        assert_eq!(f.audit_count(), before + 2, "create and one revoke; the repeat revoke changes nothing");
    }

    fn client_ids_are_unique(url: &str) {
        let f = fixture(url);
        let created = f.create("Zapier", None);
        let duplicate = token_core::store::NewAccessToken {
            learning_area_id: f.area,
            name: token_core::model::Name::parse("name", "copy").unwrap(),
            client_id: created.details.record.token.client_id.clone(),
            secret_hash: f.hasher.hash_secret(&created.client_secret).unwrap(),
            created_by: created.details.record.token.created_by,
            created_at: START,
            expires_at: START + Duration::days(1),
        };
        let audit = AuditEvent::success(START, Actor::System, AuditAction::AccessTokenCreate, None);
        let result = f.db.transaction(|s| s.insert_access_token(&duplicate, audit).map_err(CoreError::from));
        assert!(matches!(result, Err(CoreError::Store(_))));
    }

    fn the_status_filter_in_sql_agrees_with_the_domain_rule(url: &str) {
        let f = fixture(url);
        let demoted = f.db.transaction(|s| service::create_account(s, &f.clock, &f.hasher, f.admin, account("b@example.com", Role::Administrator))).unwrap();
        let active = f.create("active", None).details.record.token.id;
        let expired = f.create("expired", Some(START + Duration::days(1))).details.record.token.id;
        let revoked = f.create("revoked", None).details.record.token.id;
        let suspended = f.create_as(Caller::Account(demoted.id), "suspended", None).details.record.token.id;
        f.db.transaction(|s| service::revoke_access_token(s, &f.clock, f.admin, revoked)).unwrap();
        f.db.transaction(|s| service::change_role(s, &f.clock, f.admin, demoted.id, Role::Manager)).unwrap();
        f.clock.advance(Duration::days(2));

        let check = |status: StatusFilter, expected: AccessTokenId| {
            assert_eq!(f.list(ListAccessTokens { status: Some(status), ..Default::default() }), [expected], "{status:?}");
        };
        check(StatusFilter::Active, active);
        check(StatusFilter::Expired, expired);
        check(StatusFilter::Revoked, revoked);
        check(StatusFilter::Suspended, suspended);
        let all = f.db.run(|s| service::list_access_tokens(s, &f.clock, f.admin, ListAccessTokens::default())).unwrap();
        for token in all.items {
            let filter = StatusFilter::parse(token.status.as_str()).unwrap();
            assert!(f.list(ListAccessTokens { status: Some(filter), ..Default::default() }).contains(&token.record.token.id));
        }
    }

    fn lists_page_newest_first_and_filter_by_name_area_and_expiry(url: &str) {
        let f = fixture(url);
        let ids: Vec<_> = ["Zapier 100%", "zapier_prod", "HR sync", "Marketing"]
            .iter()
            .map(|n| f.create(n, None).details.record.token.id)
            .collect();
        let soon = f.create("soon", Some(START + Duration::days(5))).details.record.token.id;
        let first = f.db.run(|s| service::list_access_tokens(s, &f.clock, f.admin, ListAccessTokens { limit: Some(2), ..Default::default() })).unwrap();
        assert_eq!(first.items.iter().map(|t| t.record.token.id).collect::<Vec<_>>(), [soon, ids[3]]);
        let next = ListAccessTokens { limit: Some(2), before: first.next_cursor.map(AccessTokenId::new), ..Default::default() };
        assert_eq!(f.list(next), [ids[2], ids[1]]);

        assert_eq!(f.list(ListAccessTokens { q: Some("ZAPIER".into()), ..Default::default() }), [ids[1], ids[0]]);
        assert_eq!(f.list(ListAccessTokens { q: Some("%".into()), ..Default::default() }), [ids[0]], "% is literal");
        assert_eq!(f.list(ListAccessTokens { q: Some("r_p".into()), ..Default::default() }), [ids[1]], "_ is literal");
        assert_eq!(f.list(ListAccessTokens { expiring_within_days: Some(7), ..Default::default() }), [soon]);
        let other = f.db.transaction(|s| service::create_learning_area(s, &f.clock, f.admin, "Other")).unwrap();
        assert!(f.list(ListAccessTokens { learning_area_id: Some(other.id), ..Default::default() }).is_empty());
    }

    fn bearer_tokens_are_found_by_hash_and_purged_when_dead(url: &str) {
        let f = fixture(url);
        let live = f.create("live", None).details.record.token;
        let dead = f.create("dead", None).details.record.token;
        let issue = |access: AccessTokenId, name: &str, lifetime: Duration| {
            let new = NewBearerToken { token_hash: fast_hash(name), access_token_id: access, issued_at: START, expires_at: START + lifetime };
            f.db.run(|s| s.insert_bearer_token(&new)).unwrap()
        };
        issue(live.id, "fresh", Duration::hours(1));
        issue(live.id, "stale", Duration::minutes(1));
        let revoked = issue(live.id, "revoked", Duration::hours(1));
        issue(dead.id, "orphan", Duration::hours(1));
        let audit = AuditEvent::success(START, Actor::System, AuditAction::OAuthBearerRevoke, None);
        f.db.transaction(|s| s.revoke_bearer_token(revoked, START, audit).map_err(CoreError::from)).unwrap();
        f.db.transaction(|s| service::revoke_access_token(s, &f.clock, f.admin, dead.id)).unwrap();

        let found = f.db.run(|s| s.bearer_token(&fast_hash("fresh"))).unwrap().unwrap();
        assert_eq!(found.access_token.token.id, live.id);
        assert_eq!(found.expires_at, START + Duration::hours(1));
        assert!(f.db.run(|s| s.bearer_token(&fast_hash("unknown"))).unwrap().is_none());

        let purged = f.db.run(|s| s.purge_bearer_tokens(START + Duration::minutes(5))).unwrap();
        assert_eq!(purged, 3);
        assert!(f.db.run(|s| s.bearer_token(&fast_hash("fresh"))).unwrap().is_some());
        assert!(f.db.run(|s| s.bearer_token(&fast_hash("orphan"))).unwrap().is_none());
    }

    fn last_used_only_moves_forward(url: &str) {
        let f = fixture(url);
        let id = f.create("Zapier", None).details.record.token.id;
        f.db.run(|s| s.touch_access_tokens(&[(id, START + Duration::hours(2))], Duration::ZERO)).unwrap();
        f.db.run(|s| s.touch_access_tokens(&[(id, START + Duration::hours(1))], Duration::ZERO)).unwrap();
        let token = f.db.run(|s| s.access_token(id)).unwrap().unwrap();
        assert_eq!(token.token.last_used_at, Some(START + Duration::hours(2)));

        // With a step, a use less than a step after the recorded one rewrites nothing.
        let step = Duration::minutes(1);
        f.db.run(|s| s.touch_access_tokens(&[(id, START + Duration::hours(2) + Duration::seconds(59))], step)).unwrap();
        let token = f.db.run(|s| s.access_token(id)).unwrap().unwrap();
        assert_eq!(token.token.last_used_at, Some(START + Duration::hours(2)));
        f.db.run(|s| s.touch_access_tokens(&[(id, START + Duration::hours(2) + Duration::seconds(61))], step)).unwrap();
        let token = f.db.run(|s| s.access_token(id)).unwrap().unwrap();
        assert_eq!(token.token.last_used_at, Some(START + Duration::hours(2) + Duration::seconds(61)));
    }

    fn the_credential_epoch_moves_with_every_change_a_validation_could_see(url: &str) {
        let f = fixture(url);
        let epoch = || f.db.run(|s| s.credential_epoch()).unwrap();
        let moved = |what: &str, before: i64| {
            let now = epoch();
            assert!(now > before, "{what} must move the credential epoch");
            now
        };
        let token = f.create("Zapier", None).details.record.token;
        let other = f.db.transaction(|s| service::create_account(s, &f.clock, &f.hasher, f.admin, account("other@example.com", Role::Administrator))).unwrap();
        let mut e = epoch();
        let new = NewBearerToken { token_hash: fast_hash("bearer"), access_token_id: token.id, issued_at: START, expires_at: START + Duration::hours(1) };
        let bearer = f.db.run(|s| s.insert_bearer_token(&new)).unwrap();
        f.db.run(|s| s.touch_access_tokens(&[(token.id, START)], Duration::ZERO)).unwrap();
        assert_eq!(epoch(), e, "issuing and using a bearer token must not flush validation caches");

        let edit = service::EditAccessToken { name: Some("Zapier 2".into()), ..Default::default() };
        f.db.transaction(|s| service::edit_access_token(s, &f.clock, &ExpiryPolicy::default(), f.admin, token.id, edit)).unwrap();
        e = moved("renaming an access token", e);
        f.db.transaction(|s| service::rename_learning_area(s, &f.clock, f.admin, f.area, "Sales EMEA")).unwrap();
        e = moved("renaming a learning area", e);
        f.db.transaction(|s| service::change_role(s, &f.clock, f.admin, other.id, Role::Manager)).unwrap();
        e = moved("demoting an administrator", e);
        f.db.transaction(|s| service::deactivate_account(s, &f.clock, f.admin, other.id)).unwrap();
        e = moved("deactivating an account", e);
        let audit = AuditEvent::success(START, Actor::System, AuditAction::OAuthBearerRevoke, None);
        f.db.transaction(|s| s.revoke_bearer_token(bearer, START, audit).map_err(CoreError::from)).unwrap();
        e = moved("revoking a bearer token", e);
        f.db.transaction(|s| service::revoke_access_token(s, &f.clock, f.admin, token.id)).unwrap();
        moved("revoking an access token", e);

        // Issuing, using and creating move nothing: caches stay warm under normal traffic.
        let quiet = epoch();
        let fresh = f.create("Make", None).details.record.token;
        let new = NewBearerToken { token_hash: fast_hash("another"), access_token_id: fresh.id, issued_at: START, expires_at: START + Duration::hours(1) };
        f.db.run(|s| s.insert_bearer_token(&new)).unwrap();
        f.db.run(|s| s.touch_access_tokens(&[(fresh.id, START + Duration::minutes(1))], Duration::ZERO)).unwrap();
        f.db.run(|s| s.purge_bearer_tokens(START + Duration::hours(2))).unwrap();
        assert_eq!(epoch(), quiet);
    }

    fn only_live_admin_sessions_survive_a_purge(url: &str) {
        let f = fixture(url);
        let admin = match f.admin { Caller::Account(id) => id, Caller::System => unreachable!() };
        let open = |name: &str, expires_at: OffsetDateTime| {
            let new = token_core::store::NewSession { token_hash: fast_hash(name), account_id: admin, created_at: START, expires_at };
            let audit = AuditEvent::success(START, Actor::Account(admin), AuditAction::SessionLogin, None);
            f.db.transaction(|s| s.insert_session(&new, audit).map_err(CoreError::from)).unwrap();
        };
        open("live", START + Duration::hours(12));
        open("expired", START + Duration::minutes(30));
        open("signed-out", START + Duration::hours(12));
        let audit = AuditEvent::success(START, Actor::Account(admin), AuditAction::SessionLogout, None);
        f.db.transaction(|s| s.end_session(&fast_hash("signed-out"), START, audit).map_err(CoreError::from)).unwrap();

        f.clock.advance(Duration::hours(1));
        let purged = f.db.run(|s| service::purge_sessions(s, &f.clock)).unwrap();
        assert_eq!(purged, 2);
        assert!(f.db.run(|s| s.session(&fast_hash("live"))).unwrap().is_some());
        assert!(f.db.run(|s| s.session(&fast_hash("expired"))).unwrap().is_none());
        assert!(f.db.run(|s| s.session(&fast_hash("signed-out"))).unwrap().is_none());
    }

    fn last_use_of_many_tokens_is_written_in_batches(url: &str) {
        let f = fixture(url);
        let ids: Vec<AccessTokenId> = (0..300).map(|i| f.create(&format!("token {i}"), None).details.record.token.id).collect();
        let (early, late) = (START + Duration::seconds(1), START + Duration::seconds(2));
        // 300 at one second (more than one batch), 17 of them again a second later.
        let mut noted: Vec<_> = ids.iter().map(|id| (*id, early)).collect();
        noted.extend(ids.iter().take(17).map(|id| (*id, late)));
        f.db.run(|s| s.touch_access_tokens(&noted, Duration::ZERO)).unwrap();
        for (i, id) in ids.iter().enumerate() {
            let token = f.db.run(|s| s.access_token(*id)).unwrap().unwrap().token;
            assert_eq!(token.last_used_at, Some(if i < 17 { late } else { early }), "token {i}");
        }
    }

    fn unknown_client_ids_find_nothing(url: &str) {
        let f = fixture(url);
        let unknown = ClientId::generate().unwrap();
        assert!(f.db.run(|s| s.client(&unknown)).unwrap().is_none());
    }
}
