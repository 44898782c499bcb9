//! The domain's rules, one test each, through the services and the in-memory store.

use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::audit::{Actor, AuditAction, Outcome};
use crate::clock::{Clock, ManualClock};
use crate::error::{CoreError, Entity};
use crate::ids::{AccountId, LearningAreaId};
use crate::memory::MemoryStore;
use crate::model::{ExpiryPolicy, Name, Role, StatusFilter, SuspendReason, TokenStatus};
use crate::secret::{HashParams, Password, SecretHasher};
use crate::service::{
    self, Caller, CreateAccessToken, CreateAccount, CreatedAccessToken, EditAccessToken, ListAccessTokens,
};
use crate::store::Store;

const START: OffsetDateTime = datetime!(2026-03-01 12:00 UTC);

struct World {
    store: MemoryStore,
    clock: ManualClock,
    hasher: SecretHasher,
    policy: ExpiryPolicy,
    admin: Caller,
    admin_id: AccountId,
    area: LearningAreaId,
}

impl World {
    fn new() -> Self {
        let mut store = MemoryStore::new();
        let clock = ManualClock::new(START);
        let hasher = SecretHasher::new(HashParams::insecure_for_tests()).unwrap();
        let admin = service::create_account(
            &mut store,
            &clock,
            &hasher,
            Caller::System,
            account("admin@example.com", Role::Administrator),
        )
        .unwrap();
        let caller = Caller::Account(admin.id);
        let area = service::create_learning_area(&mut store, &clock, caller, "Sales").unwrap();
        Self { store, clock, hasher, policy: ExpiryPolicy::default(), admin: caller, admin_id: admin.id, area: area.id }
    }

    fn create(&mut self, name: &str, expires_at: Option<OffsetDateTime>) -> Result<CreatedAccessToken, CoreError> {
        self.create_as(self.admin, name, expires_at)
    }

    fn create_as(
        &mut self,
        caller: Caller,
        name: &str,
        expires_at: Option<OffsetDateTime>,
    ) -> Result<CreatedAccessToken, CoreError> {
        let request = CreateAccessToken { learning_area_id: Some(self.area), name: name.to_owned(), expires_at };
        service::create_access_token(&mut self.store, &self.clock, &self.hasher, &self.policy, caller, request)
    }

    fn add_account(&mut self, email: &str, role: Role) -> Caller {
        let account =
            service::create_account(&mut self.store, &self.clock, &self.hasher, self.admin, account(email, role))
                .unwrap();
        Caller::Account(account.id)
    }
}

fn account(email: &str, role: Role) -> CreateAccount {
    CreateAccount {
        email: email.to_owned(),
        display_name: "Someone".to_owned(),
        role,
        password: Password::new("a long enough password").unwrap(),
    }
}

fn invalid_fields(error: CoreError) -> Vec<&'static str> {
    match error {
        CoreError::Invalid(fields) => fields.into_iter().map(|f| f.field).collect(),
        other => panic!("expected invalid input, got {other:?}"),
    }
}

#[test]
fn a_name_is_trimmed_and_required_and_at_most_100_characters() {
    let check = |raw: &str, expected: Option<&str>| {
        assert_eq!(Name::parse("name", raw).ok().as_ref().map(Name::as_str), expected, "{raw:?}");
    };
    check("  Zapier - Sales  ", Some("Zapier - Sales"));
    check("", None);
    check("   ", None);
    check(&"é".repeat(100), Some(&"é".repeat(100)));
    check(&"é".repeat(101), None);
    check("tab\there", None);
}

#[test]
fn expiry_defaults_to_one_year_after_creation() {
    let mut world = World::new();
    let created = world.create("Zapier", None).unwrap();
    assert_eq!(created.details.record.token.expires_at, START + Duration::days(365));
    assert_eq!(created.details.status, TokenStatus::Active);
}

#[test]
fn expiry_must_be_in_the_future() {
    let mut world = World::new();
    assert_eq!(invalid_fields(world.create("Zapier", Some(START)).unwrap_err()), ["expires_at"]);
    assert_eq!(invalid_fields(world.create("Zapier", Some(START - Duration::days(1))).unwrap_err()), ["expires_at"]);
}

#[test]
fn expiry_may_not_exceed_the_maximum_lifetime() {
    let mut world = World::new();
    assert!(world.create("Zapier", Some(START + Duration::days(730))).is_ok());
    assert_eq!(invalid_fields(world.create("Zapier", Some(START + Duration::days(731))).unwrap_err()), ["expires_at"]);
    world.policy.max_lifetime = Duration::days(90);
    assert_eq!(invalid_fields(world.create("Zapier", Some(START + Duration::days(91))).unwrap_err()), ["expires_at"]);
}

#[test]
fn every_invalid_field_is_reported_and_nothing_is_written() {
    let mut world = World::new();
    let request = CreateAccessToken {
        learning_area_id: Some(LearningAreaId::new(999)),
        name: " ".into(),
        expires_at: Some(START),
    };
    let error = service::create_access_token(
        &mut world.store,
        &world.clock,
        &world.hasher,
        &world.policy,
        world.admin,
        request,
    )
    .unwrap_err();
    assert_eq!(invalid_fields(error), ["name", "expires_at", "learning_area_id"]);
    assert!(world.store.list_access_tokens(&Default::default(), START).unwrap().is_empty());
}

#[test]
fn creating_a_token_needs_a_learning_area_and_says_so_when_none_exists() {
    let mut store = MemoryStore::new();
    let clock = ManualClock::new(START);
    let hasher = SecretHasher::new(HashParams::insecure_for_tests()).unwrap();
    let admin = service::create_account(
        &mut store,
        &clock,
        &hasher,
        Caller::System,
        account("a@example.com", Role::Administrator),
    )
    .unwrap();
    let request = CreateAccessToken { learning_area_id: None, name: "Zapier".into(), expires_at: None };
    let error = service::create_access_token(
        &mut store,
        &clock,
        &hasher,
        &ExpiryPolicy::default(),
        Caller::Account(admin.id),
        request,
    )
    .unwrap_err();
    assert!(matches!(error, CoreError::NoLearningAreas));
    assert!(error.to_string().contains("create a learning area first"));
}

#[test]
fn the_learning_area_is_fixed_at_creation() {
    let mut world = World::new();
    let created = world.create("Zapier", None).unwrap();
    let other = service::create_learning_area(&mut world.store, &world.clock, world.admin, "Marketing").unwrap();
    let edit = EditAccessToken { learning_area_id: Some(other.id), ..Default::default() };
    let error = service::edit_access_token(
        &mut world.store,
        &world.clock,
        &world.policy,
        world.admin,
        created.details.record.token.id,
        edit,
    )
    .unwrap_err();
    assert!(matches!(error, CoreError::LearningAreaImmutable));
    assert!(error.to_string().contains("create a new access token"));
    let token = world.store.access_token(created.details.record.token.id).unwrap().unwrap();
    assert_eq!(token.token.learning_area_id, world.area);
}

#[test]
fn name_and_expiry_can_be_edited_while_the_token_lives() {
    let mut world = World::new();
    let id = world.create("Zapier", None).unwrap().details.record.token.id;
    let edit = EditAccessToken {
        name: Some(" Zapier Prod ".into()),
        expires_at: Some(START + Duration::days(30)),
        learning_area_id: Some(world.area),
    };
    let edited =
        service::edit_access_token(&mut world.store, &world.clock, &world.policy, world.admin, id, edit).unwrap();
    assert_eq!(edited.record.token.name.as_str(), "Zapier Prod");
    assert_eq!(edited.record.token.expires_at, START + Duration::days(30));
    assert_eq!(world.store.audit.last().unwrap().action, AuditAction::AccessTokenEdit);
}

#[test]
fn an_expired_token_cannot_be_edited_back_to_life() {
    let mut world = World::new();
    let id = world.create("Zapier", Some(START + Duration::days(1))).unwrap().details.record.token.id;
    world.clock.advance(Duration::days(2));
    let edit = EditAccessToken { expires_at: Some(START + Duration::days(100)), ..Default::default() };
    let error =
        service::edit_access_token(&mut world.store, &world.clock, &world.policy, world.admin, id, edit).unwrap_err();
    assert!(matches!(error, CoreError::NotEditable { status: "expired" }));
}

#[test]
fn a_revoked_token_cannot_be_edited() {
    let mut world = World::new();
    let id = world.create("Zapier", None).unwrap().details.record.token.id;
    service::revoke_access_token(&mut world.store, &world.clock, world.admin, id).unwrap();
    let edit = EditAccessToken { name: Some("again".into()), ..Default::default() };
    let error =
        service::edit_access_token(&mut world.store, &world.clock, &world.policy, world.admin, id, edit).unwrap_err();
    assert!(matches!(error, CoreError::NotEditable { status: "revoked" }));
}

#[test]
fn revocation_is_irreversible_and_idempotent() {
    let mut world = World::new();
    let id = world.create("Zapier", None).unwrap().details.record.token.id;
    let first = service::revoke_access_token(&mut world.store, &world.clock, world.admin, id).unwrap();
    assert_eq!(first.status, TokenStatus::Revoked);
    assert_eq!(first.record.token.revoked_at, Some(START));
    assert_eq!(first.record.token.revoked_by, Some(world.admin_id));
    world.clock.advance(Duration::hours(1));
    let second = service::revoke_access_token(&mut world.store, &world.clock, world.admin, id).unwrap();
    assert_eq!(second.record.token.revoked_at, Some(START), "the first revocation's time sticks");
    let revocations = world.store.audit.iter().filter(|e| e.action == AuditAction::AccessTokenRevoke).count();
    assert_eq!(revocations, 1);
}

#[test]
fn revocation_wins_over_expiry_and_expiry_over_suspension() {
    let mut world = World::new();
    let id = world.create("Zapier", Some(START + Duration::days(1))).unwrap().details.record.token.id;
    service::deactivate_account(&mut world.store, &world.clock, Caller::System, world.admin_id).unwrap();
    let record = world.store.access_token(id).unwrap().unwrap();
    assert_eq!(record.token.status(START, &record.creator), TokenStatus::Suspended(SuspendReason::CreatorDeactivated));
    assert_eq!(record.token.status(START + Duration::days(1), &record.creator), TokenStatus::Expired);
    service::revoke_access_token(&mut world.store, &world.clock, Caller::System, id).unwrap();
    let record = world.store.access_token(id).unwrap().unwrap();
    assert_eq!(record.token.status(START + Duration::days(1), &record.creator), TokenStatus::Revoked);
}

#[test]
fn only_an_active_administrator_may_manage_tokens() {
    let mut world = World::new();
    let manager = world.add_account("manager@example.com", Role::Manager);
    assert!(matches!(world.create_as(manager, "Zapier", None), Err(CoreError::Forbidden)));
    let id = world.create("Zapier", None).unwrap().details.record.token.id;
    assert!(matches!(
        service::revoke_access_token(&mut world.store, &world.clock, manager, id),
        Err(CoreError::Forbidden)
    ));
    assert!(matches!(
        service::get_access_token(&mut world.store, &world.clock, manager, id),
        Err(CoreError::Forbidden)
    ));

    let other_admin = world.add_account("other@example.com", Role::Administrator);
    let Caller::Account(other_id) = other_admin else { unreachable!() };
    service::deactivate_account(&mut world.store, &world.clock, world.admin, other_id).unwrap();
    assert!(matches!(world.create_as(other_admin, "Zapier", None), Err(CoreError::Forbidden)));
}

#[test]
fn managers_may_read_learning_areas() {
    let mut world = World::new();
    let manager = world.add_account("manager@example.com", Role::Manager);
    assert_eq!(service::list_learning_areas(&mut world.store, manager).unwrap().len(), 1);
    assert!(matches!(
        service::create_learning_area(&mut world.store, &world.clock, manager, "X"),
        Err(CoreError::Forbidden)
    ));
}

#[test]
fn a_token_is_suspended_when_its_creator_is_deactivated_or_demoted() {
    let mut world = World::new();
    let second = world.add_account("second@example.com", Role::Administrator);
    let Caller::Account(second_id) = second else { unreachable!() };
    let id = world.create_as(second, "Zapier", None).unwrap().details.record.token.id;

    service::change_role(&mut world.store, &world.clock, world.admin, second_id, Role::Manager).unwrap();
    let token = service::get_access_token(&mut world.store, &world.clock, world.admin, id).unwrap();
    assert_eq!(token.status, TokenStatus::Suspended(SuspendReason::CreatorNotAdministrator));

    service::change_role(&mut world.store, &world.clock, world.admin, second_id, Role::Administrator).unwrap();
    service::deactivate_account(&mut world.store, &world.clock, world.admin, second_id).unwrap();
    let token = service::get_access_token(&mut world.store, &world.clock, world.admin, id).unwrap();
    assert_eq!(token.status, TokenStatus::Suspended(SuspendReason::CreatorDeactivated));
}

#[test]
fn the_secret_is_shown_once_and_stored_only_as_a_hash() {
    let mut world = World::new();
    let created = world.create("Zapier", None).unwrap();
    let secret = created.client_secret.expose().to_owned();
    for event in &world.store.audit {
        assert!(!format!("{event:?}").contains(&secret));
    }
    assert!(!format!("{:?}", created.details).contains(&secret));
}

#[test]
fn listing_filters_by_status_and_pages_newest_first() {
    let mut world = World::new();
    let ids: Vec<_> =
        (0..5).map(|i| world.create(&format!("token {i}"), None).unwrap().details.record.token.id).collect();
    service::revoke_access_token(&mut world.store, &world.clock, world.admin, ids[1]).unwrap();

    let page = service::list_access_tokens(
        &mut world.store,
        &world.clock,
        world.admin,
        ListAccessTokens { limit: Some(2), ..Default::default() },
    )
    .unwrap();
    assert_eq!(page.items.iter().map(|t| t.record.token.id).collect::<Vec<_>>(), [ids[4], ids[3]]);
    let next = ListAccessTokens {
        limit: Some(2),
        before: page.next_cursor.map(crate::ids::AccessTokenId::new),
        ..Default::default()
    };
    let page = service::list_access_tokens(&mut world.store, &world.clock, world.admin, next).unwrap();
    assert_eq!(page.items.iter().map(|t| t.record.token.id).collect::<Vec<_>>(), [ids[2], ids[1]]);

    let revoked = ListAccessTokens { status: Some(StatusFilter::Revoked), ..Default::default() };
    let page = service::list_access_tokens(&mut world.store, &world.clock, world.admin, revoked).unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.next_cursor, None);
    assert!(matches!(
        service::list_access_tokens(
            &mut world.store,
            &world.clock,
            world.admin,
            ListAccessTokens { limit: Some(501), ..Default::default() }
        ),
        Err(CoreError::Invalid(_))
    ));
}

#[test]
fn every_change_leaves_an_audit_event_naming_actor_and_target() {
    let mut world = World::new();
    let id = world.create("Zapier", None).unwrap().details.record.token.id;
    let event = world.store.audit.last().unwrap();
    assert_eq!(event.action, AuditAction::AccessTokenCreate);
    assert_eq!(event.actor, Actor::Account(world.admin_id));
    assert_eq!(event.target.as_ref().unwrap().id, Some(id.get()));
    assert_eq!(event.outcome, Outcome::Success);
    assert_eq!(event.occurred_at, world.clock.now());
}

#[test]
fn an_unknown_token_is_not_found() {
    let mut world = World::new();
    let error =
        service::get_access_token(&mut world.store, &world.clock, world.admin, crate::ids::AccessTokenId::new(404))
            .unwrap_err();
    assert!(matches!(error, CoreError::NotFound(Entity::AccessToken)));
}

#[test]
fn a_login_opens_a_twelve_hour_session_that_logout_ends() {
    let mut world = World::new();
    let password = Password::presented("a long enough password");
    let session =
        service::login(&mut world.store, &world.clock, &world.hasher, " Admin@Example.com ", &password).unwrap();
    assert!(session.token.expose().starts_with("tka_"));
    assert_eq!(session.expires_at, START + Duration::hours(12));
    let token = session.token.expose().to_owned();
    assert_eq!(service::authenticate_session(&mut world.store, &world.clock, &token).unwrap().id, world.admin_id);
    world.clock.advance(Duration::hours(12));
    assert!(matches!(
        service::authenticate_session(&mut world.store, &world.clock, &token),
        Err(CoreError::Unauthenticated)
    ));

    let again = service::login(&mut world.store, &world.clock, &world.hasher, "admin@example.com", &password).unwrap();
    let token = again.token.expose().to_owned();
    service::logout(&mut world.store, &world.clock, &token).unwrap();
    assert!(matches!(
        service::authenticate_session(&mut world.store, &world.clock, &token),
        Err(CoreError::Unauthenticated)
    ));
}

#[test]
fn a_deactivated_account_cannot_log_in_and_its_sessions_end() {
    let mut world = World::new();
    let other = world.add_account("other@example.com", Role::Administrator);
    let Caller::Account(other_id) = other else { unreachable!() };
    let password = Password::presented("a long enough password");
    let session =
        service::login(&mut world.store, &world.clock, &world.hasher, "other@example.com", &password).unwrap();
    service::deactivate_account(&mut world.store, &world.clock, world.admin, other_id).unwrap();
    let token = session.token.expose().to_owned();
    assert!(matches!(
        service::authenticate_session(&mut world.store, &world.clock, &token),
        Err(CoreError::Unauthenticated)
    ));
    assert!(matches!(
        service::login(&mut world.store, &world.clock, &world.hasher, "other@example.com", &password),
        Err(CoreError::BadCredentials)
    ));
}

#[test]
fn a_login_in_two_steps_honours_a_deactivation_between_them() {
    let mut world = World::new();
    let other = world.add_account("other@example.com", Role::Administrator);
    let Caller::Account(other_id) = other else { unreachable!() };
    let password = Password::presented("a long enough password");
    let candidate = service::find_login(&mut world.store, "other@example.com").unwrap();
    let verified = world.hasher.verify(candidate.password_hash(), password.expose());
    assert!(verified);
    // The argon2 step runs outside any transaction; meanwhile the account is deactivated.
    service::deactivate_account(&mut world.store, &world.clock, world.admin, other_id).unwrap();
    assert!(matches!(
        service::complete_login(&mut world.store, &world.clock, candidate, verified),
        Err(CoreError::BadCredentials)
    ));
    let last = world.store.audit.last().unwrap();
    let reason = last.details.iter().find(|(k, _)| *k == "reason").map(|(_, v)| v.as_str());
    assert_eq!(reason, Some("account_deactivated"));

    let candidate = service::find_login(&mut world.store, "admin@example.com").unwrap();
    assert!(matches!(
        service::complete_login(&mut world.store, &world.clock, candidate, false),
        Err(CoreError::BadCredentials)
    ));
}

#[test]
fn every_failed_login_is_the_same_error_and_is_audited_with_its_reason() {
    let mut world = World::new();
    let wrong = Password::presented("not the password");
    for email in ["admin@example.com", "nobody@example.com", "not an email"] {
        assert!(matches!(
            service::login(&mut world.store, &world.clock, &world.hasher, email, &wrong),
            Err(CoreError::BadCredentials)
        ));
    }
    let reasons: Vec<_> = world
        .store
        .audit
        .iter()
        .filter(|e| e.action == AuditAction::SessionLogin && e.outcome == Outcome::Failure)
        .map(|e| e.details.iter().find(|(k, _)| *k == "reason").map(|(_, v)| v.clone()).unwrap_or_default())
        .collect();
    assert_eq!(reasons, ["wrong_password", "unknown_email", "unknown_email"]);
    assert!(crate::CommitOnError::commit_anyway(&CoreError::BadCredentials), "the refusal's audit record is kept");
}

#[test]
fn only_administrators_read_the_audit_log() {
    let mut world = World::new();
    let manager = world.add_account("manager@example.com", Role::Manager);
    assert!(matches!(
        service::list_audit_events(&mut world.store, manager, Default::default()),
        Err(CoreError::Forbidden)
    ));
    let page = service::list_audit_events(&mut world.store, world.admin, Default::default()).unwrap();
    assert_eq!(page.items[0].action, "account.create", "newest first");
    let bad = service::ListAuditEvents {
        target: Some("access_token:abc".into()),
        action: Some("nope".into()),
        ..Default::default()
    };
    assert_eq!(
        invalid_fields(service::list_audit_events(&mut world.store, world.admin, bad).unwrap_err()),
        ["target", "action"]
    );
}

#[test]
fn the_audit_log_lists_the_details_each_event_recorded() {
    let mut world = World::new();
    service::create_learning_area(&mut world.store, &world.clock, world.admin, "Say \"hi\"").unwrap();
    let page = service::list_audit_events(&mut world.store, world.admin, Default::default()).unwrap();
    assert_eq!(page.items[0].action, "learning_area.create");
    assert_eq!(page.items[0].details_json, r#"{"name":"Say \"hi\""}"#);
}
