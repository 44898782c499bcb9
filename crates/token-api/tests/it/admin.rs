//! The admin API: the authorization matrix, the token management guide's flows, sessions,
//! validation and the audit trail.

use actix_web::http::{Method, header};
use actix_web::test::TestRequest;
use serde_json::{Value, json};
use time::Duration;
use token_core::model::Role;
use token_core::service::{self, Caller};

use crate::support::{Harness, admin, call, login, run};

const GET: Method = Method::GET;
const POST: Method = Method::POST;
const PATCH: Method = Method::PATCH;
const DELETE: Method = Method::DELETE;

token_test_db::backend_tests! {
    fn the_authorization_matrix_holds_for_every_admin_endpoint(url: &str) {
        let h = Harness::new(url);
        let manager = h.account("manager@example.com", Role::Manager);
        let retired = h.account("retired@example.com", Role::Administrator);
        let client = h.client();
        run(async {
            let app = h.app().await;
            let expired = login(&app, "admin@example.com").await;
            h.clock.advance(Duration::hours(12));
            let admin_session = login(&app, "admin@example.com").await;
            let manager_session = login(&app, "manager@example.com").await;
            let retired_session = login(&app, "retired@example.com").await;
            h.write(|s| service::deactivate_account(s, &h.clock, Caller::Account(h.admin), retired));
            let bearer = {
                let req = TestRequest::post()
                    .uri("/oauth/token")
                    .insert_header(crate::support::form())
                    .insert_header(crate::support::basic(&client.client_id, &client.secret))
                    .set_payload("grant_type=client_credentials");
                call(&app, req.to_request()).await.json["access_token"].as_str().unwrap().to_owned()
            };
            assert_eq!(call(&app, crate::support::admin(GET, "/api/v1/me", &bearer, None)).await.status, 200, "the bearer works where it belongs");

            let area = h.area.get();
            let token = client.id.get();
            // (method, path, body, status for an administrator, status for a manager)
            let endpoints: Vec<(Method, String, Option<Value>, u16, u16)> = vec![
                (GET, "/admin/v1/session".into(), None, 200, 200),
                (GET, "/admin/v1/accounts".into(), None, 200, 403),
                (POST, "/admin/v1/accounts".into(), Some(json!({"email": "new@example.com", "password": "a long enough password", "role": "manager", "display_name": "New"})), 201, 403),
                (PATCH, format!("/admin/v1/accounts/{}", manager.get()), Some(json!({"role": "manager"})), 200, 403),
                (POST, format!("/admin/v1/accounts/{}/deactivate", retired.get()), None, 200, 403),
                (GET, "/admin/v1/learning-areas".into(), None, 200, 200),
                (POST, "/admin/v1/learning-areas".into(), Some(json!({"name": "Marketing"})), 201, 403),
                (GET, format!("/admin/v1/learning-areas/{area}"), None, 200, 200),
                (PATCH, format!("/admin/v1/learning-areas/{area}"), Some(json!({"name": "Sales EU"})), 200, 403),
                (GET, "/admin/v1/access-tokens".into(), None, 200, 403),
                (POST, "/admin/v1/access-tokens".into(), Some(json!({"learning_area_id": area, "name": "Zapier"})), 201, 403),
                (GET, format!("/admin/v1/access-tokens/{token}"), None, 200, 403),
                (PATCH, format!("/admin/v1/access-tokens/{token}"), Some(json!({"name": "Zapier Prod"})), 200, 403),
                (POST, format!("/admin/v1/access-tokens/{token}/revoke"), None, 200, 403),
                (GET, "/admin/v1/audit-events".into(), None, 200, 403),
                (DELETE, "/admin/v1/session".into(), None, 204, 204),
            ];
            for (method, path, body, _, for_manager) in &endpoints {
                let cell = |who: &str| format!("{who} {method} {path}");
                let anonymous = TestRequest::default().method(method.clone()).uri(path);
                let anonymous = match body { Some(b) => anonymous.set_json(b), None => anonymous };
                assert_eq!(call(&app, anonymous.to_request()).await.status, 401, "{}", cell("anonymous"));
                for (who, session) in [("integration bearer", &bearer), ("deactivated administrator", &retired_session), ("expired session", &expired)] {
                    let answer = call(&app, admin(method.clone(), path, session, body.clone())).await;
                    assert_eq!(answer.status, 401, "{}", cell(who));
                    assert_eq!(answer.json["type"], "urn:tokend:problem:unauthenticated", "{}", cell(who));
                }
                let answer = call(&app, admin(method.clone(), path, &manager_session, body.clone())).await;
                assert_eq!(answer.status, *for_manager, "{}: {}", cell("manager"), answer.json);
            }
            for (method, path, body, for_admin, _) in &endpoints {
                let answer = call(&app, admin(method.clone(), path, &admin_session, body.clone())).await;
                assert_eq!(answer.status, *for_admin, "administrator {method} {path}: {}", answer.json);
            }
        });
    }

    fn the_guides_flow_end_to_end(url: &str) {
        let h = Harness::new(url);
        run(async {
            let app = h.app().await;
            let session = login(&app, "admin@example.com").await;
            let area = call(&app, admin(POST, "/admin/v1/learning-areas", &session, Some(json!({"name": "Marketing"})))).await;
            assert_eq!(area.status, 201);
            let area_id = area.json["id"].as_i64().unwrap();

            let created = call(&app, admin(POST, "/admin/v1/access-tokens", &session, Some(json!({
                "learning_area_id": area_id, "name": "  Zapier Integration - Marketing  "
            })))).await;
            assert_eq!(created.status, 201, "{}", created.json);
            assert_eq!(created.header(header::CACHE_CONTROL), Some("no-store"));
            let secret = created.json["client_secret"].as_str().unwrap().to_owned();
            let client_id = created.json["client_id"].as_str().unwrap().to_owned();
            let id = created.json["id"].as_i64().unwrap();
            assert!(secret.starts_with("tks_"));
            assert_eq!(created.json["name"], "Zapier Integration - Marketing");
            assert_eq!(created.json["status"], "active");
            assert_eq!(created.json["learning_area"], json!({"id": area_id, "name": "Marketing"}));
            assert_eq!(created.json["created_at"], "2026-03-01T12:00:00Z");
            assert_eq!(created.json["expires_at"], "2027-03-01T12:00:00Z", "one year by default");
            assert_eq!(created.json["created_by"]["email"], "admin@example.com");
            assert_eq!(created.json["revoked_at"], Value::Null);
            assert_eq!(created.json["last_used_at"], Value::Null);

            let read = call(&app, admin(GET, &format!("/admin/v1/access-tokens/{id}"), &session, None)).await;
            assert!(read.json.get("client_secret").is_none());
            assert!(!read.json.to_string().contains(&secret), "the secret is never returned again");
            let list = call(&app, admin(GET, "/admin/v1/access-tokens", &session, None)).await;
            assert_eq!(list.json["items"][0]["id"], id);
            assert!(!list.json.to_string().contains(&secret));

            let bearer = {
                let req = TestRequest::post().uri("/oauth/token").insert_header(crate::support::form())
                    .set_payload(format!("grant_type=client_credentials&client_id={client_id}&client_secret={secret}"));
                call(&app, req.to_request()).await.json["access_token"].as_str().unwrap().to_owned()
            };

            let edited = call(&app, admin(PATCH, &format!("/admin/v1/access-tokens/{id}"), &session, Some(json!({
                "name": "Zapier Prod - Marketing", "expires_at": "2026-09-01T00:00:00Z"
            })))).await;
            assert_eq!(edited.status, 200, "{}", edited.json);
            assert_eq!(edited.json["name"], "Zapier Prod - Marketing");
            assert_eq!(edited.json["expires_at"], "2026-09-01T00:00:00Z");

            let moved = call(&app, admin(PATCH, &format!("/admin/v1/access-tokens/{id}"), &session, Some(json!({
                "learning_area_id": h.area.get()
            })))).await;
            assert_eq!(moved.status, 422);
            assert_eq!(moved.header(header::CONTENT_TYPE), Some("application/problem+json"));
            assert_eq!(moved.json["type"], "urn:tokend:problem:learning-area-immutable");
            assert!(moved.json["detail"].as_str().unwrap().contains("create a new access token"), "{}", moved.json);

            let revoked = call(&app, admin(POST, &format!("/admin/v1/access-tokens/{id}/revoke"), &session, None)).await;
            assert_eq!(revoked.status, 200);
            assert_eq!(revoked.json["status"], "revoked");
            assert_eq!(revoked.json["revoked_at"], "2026-03-01T12:00:00Z");
            let again = call(&app, admin(POST, &format!("/admin/v1/access-tokens/{id}/revoke"), &session, None)).await;
            assert_eq!((again.status, &again.json["revoked_at"]), (200, &revoked.json["revoked_at"]), "idempotent");
            let listed = call(&app, admin(GET, "/admin/v1/access-tokens?status=revoked", &session, None)).await;
            assert_eq!(listed.json["items"][0]["id"], id);
            assert_eq!(call(&app, admin(GET, "/api/v1/me", &bearer, None)).await.status, 401, "its bearer tokens stop at once");
            let edit_revoked = call(&app, admin(PATCH, &format!("/admin/v1/access-tokens/{id}"), &session, Some(json!({"name": "again"})))).await;
            assert_eq!((edit_revoked.status, edit_revoked.json["type"].as_str()), (409, Some("urn:tokend:problem:not-editable")));

            // The audit trail: exactly the expected events, and no secret anywhere in it.
            let audit = call(&app, admin(GET, &format!("/admin/v1/audit-events?target=access_token:{id}"), &session, None)).await;
            let actions: Vec<&str> = audit.json["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
            assert_eq!(actions, ["access_token.revoke", "access_token.edit", "access_token.create"]);
            let edit = &audit.json["items"][1];
            assert_eq!(edit["actor"], json!({"kind": "account", "id": h.admin.to_string()}));
            assert_eq!(edit["outcome"], "success");
            assert_eq!(edit["details"]["old_name"], "Zapier Integration - Marketing");
            let everything = call(&app, admin(GET, "/admin/v1/audit-events?limit=500", &session, None)).await.json.to_string();
            for secret_value in [&secret, &bearer, &session] {
                assert!(!everything.contains(secret_value.as_str()), "no secret in the audit log");
            }
            assert!(!everything.contains("$argon2id$"));
        });
    }

    fn creating_without_learning_areas_or_with_bad_input_names_the_problem(url: &str) {
        let h = Harness::new(url);
        run(async {
            let app = h.app().await;
            let session = login(&app, "admin@example.com").await;
            let bad = call(&app, admin(POST, "/admin/v1/access-tokens", &session, Some(json!({
                "learning_area_id": h.area.get(), "name": " ", "expires_at": "2020-01-01T00:00:00Z"
            })))).await;
            assert_eq!(bad.status, 422);
            assert_eq!(bad.json["type"], "urn:tokend:problem:invalid-input");
            let fields: Vec<&str> = bad.json["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
            assert_eq!(fields, ["name", "expires_at"]);

            let unknown_area = call(&app, admin(POST, "/admin/v1/access-tokens", &session, Some(json!({"learning_area_id": 999, "name": "Zapier"})))).await;
            assert_eq!(unknown_area.status, 422);
            assert_eq!(unknown_area.json["errors"][0]["field"], "learning_area_id");

            let unknown_field = call(&app, admin(POST, "/admin/v1/access-tokens", &session, Some(json!({"learning_area_id": 1, "name": "Z", "scope": "all"})))).await;
            assert_eq!(unknown_field.status, 400);
            assert!(unknown_field.json["detail"].as_str().unwrap().contains("scope"), "{}", unknown_field.json);

            let huge = call(&app, admin(POST, "/admin/v1/learning-areas", &session, Some(json!({"name": "x".repeat(100_000)})))).await;
            assert_eq!(huge.status, 413);

            assert_eq!(call(&app, admin(GET, "/admin/v1/access-tokens/999", &session, None)).await.status, 404);
            assert_eq!(call(&app, admin(GET, "/admin/v1/access-tokens/abc", &session, None)).await.status, 404);
            assert_eq!(call(&app, admin(GET, "/admin/v1/access-tokens?status=sleeping", &session, None)).await.status, 422);
        });
    }

    fn creating_a_token_with_no_learning_area_at_all_says_to_create_one(url: &str) {
        let empty = Harness::new_without_area(url);
        run(async {
            let app = empty.app().await;
            let session = login(&app, "admin@example.com").await;
            let none = call(&app, admin(POST, "/admin/v1/access-tokens", &session, Some(json!({"learning_area_id": 1, "name": "Zapier"})))).await;
            assert_eq!(none.status, 422);
            assert_eq!(none.json["type"], "urn:tokend:problem:no-learning-areas");
            assert!(none.json["detail"].as_str().unwrap().contains("create a learning area first"));
        });
    }

    fn an_expired_token_cannot_be_edited_back_to_life(url: &str) {
        let h = Harness::new(url);
        let client = h.client_in(h.area, h.admin, Some(crate::support::START + Duration::days(1)));
        h.clock.advance(Duration::days(2));
        run(async {
            let app = h.app().await;
            let session = login(&app, "admin@example.com").await;
            let answer = call(&app, admin(PATCH, &format!("/admin/v1/access-tokens/{}", client.id), &session, Some(json!({"expires_at": "2026-12-01T00:00:00Z"})))).await;
            assert_eq!(answer.status, 409);
            let listed = call(&app, admin(GET, "/admin/v1/access-tokens?status=expired", &session, None)).await;
            assert_eq!(listed.json["items"][0]["id"], client.id.get());
        });
    }

    fn failed_sign_ins_look_alike_are_audited_and_are_throttled(url: &str) {
        let h = Harness::new(url);
        let retired = h.account("retired@example.com", Role::Administrator);
        h.write(|s| service::deactivate_account(s, &h.clock, Caller::Account(h.admin), retired));
        run(async {
            let app = h.app().await;
            let attempt = |email: &str, password: &str| {
                TestRequest::post().uri("/admin/v1/session").set_json(json!({"email": email, "password": password})).to_request()
            };
            let mut bodies = Vec::new();
            for (email, password) in [("admin@example.com", "wrong password!"), ("nobody@example.com", crate::support::PASSWORD), ("retired@example.com", crate::support::PASSWORD)] {
                let answer = call(&app, attempt(email, password)).await;
                assert_eq!(answer.status, 401, "{email}");
                bodies.push(answer.json.to_string());
            }
            bodies.dedup();
            assert_eq!(bodies.len(), 1, "the answer never tells whether the email exists");
            for _ in 0..4 {
                call(&app, attempt("nobody@example.com", "x")).await;
            }
            let locked = call(&app, attempt("nobody@example.com", "x")).await;
            assert_eq!(locked.status, 429);
            assert!(locked.header(header::RETRY_AFTER).is_some());

            let session = login(&app, "admin@example.com").await;
            let failures = call(&app, admin(GET, "/admin/v1/audit-events?action=session.login", &session, None)).await;
            let reasons: Vec<&str> = failures.json["items"].as_array().unwrap().iter().filter_map(|e| e["details"]["reason"].as_str()).collect();
            for reason in ["wrong_password", "unknown_email", "account_deactivated"] {
                assert!(reasons.contains(&reason), "{reason} in {reasons:?}");
            }
        });
    }

    fn deactivating_or_demoting_an_administrator_ends_sessions_and_suspends_tokens(url: &str) {
        let h = Harness::new(url);
        let other = h.account("other@example.com", Role::Administrator);
        let demoted = h.account("demoted@example.com", Role::Administrator);
        let token_of_other = h.client_in(h.area, other, None);
        let token_of_demoted = h.client_in(h.area, demoted, None);
        run(async {
            let app = h.app().await;
            let session = login(&app, "admin@example.com").await;
            let other_session = login(&app, "other@example.com").await;
            let answer = call(&app, admin(POST, &format!("/admin/v1/accounts/{other}/deactivate"), &session, None)).await;
            assert_eq!((answer.status, &answer.json["active"]), (200, &json!(false)));
            assert_eq!(call(&app, admin(GET, "/admin/v1/session", &other_session, None)).await.status, 401);
            let demote = call(&app, admin(PATCH, &format!("/admin/v1/accounts/{demoted}"), &session, Some(json!({"role": "manager"})))).await;
            assert_eq!(demote.json["role"], "manager");
            let check = |id: token_core::ids::AccessTokenId, reason: &'static str| {
                let app = &app;
                let session = session.clone();
                async move {
                    let token = call(app, admin(GET, &format!("/admin/v1/access-tokens/{id}"), &session, None)).await;
                    assert_eq!(token.json["status"], "suspended");
                    assert_eq!(token.json["suspended_reason"], reason);
                }
            };
            check(token_of_other.id, "creator_deactivated").await;
            check(token_of_demoted.id, "creator_not_administrator").await;
            let suspended = call(&app, admin(GET, "/admin/v1/access-tokens?status=suspended", &session, None)).await;
            assert_eq!(suspended.json["items"].as_array().unwrap().len(), 2);
        });
    }

    fn the_cookie_session_needs_the_csrf_token_for_writes(url: &str) {
        let h = Harness::new(url);
        run(async {
            let app = h.app().await;
            let req = TestRequest::post().uri("/admin/v1/session").set_json(json!({"email": "admin@example.com", "password": crate::support::PASSWORD}));
            let response = actix_web::test::call_service(&app, req.to_request()).await;
            let cookie = response.response().cookies().find(|c| c.name() == "tokend_session").unwrap().into_owned();
            assert!(cookie.http_only().unwrap_or(false));
            assert_eq!(cookie.same_site(), Some(actix_web::cookie::SameSite::Strict));
            let body: Value = actix_web::test::read_body_json(response).await;
            let csrf = body["csrf_token"].as_str().unwrap().to_owned();

            let read = TestRequest::get().uri("/admin/v1/learning-areas").cookie(cookie.clone());
            assert_eq!(call(&app, read.to_request()).await.status, 200);
            let write = || TestRequest::post().uri("/admin/v1/learning-areas").cookie(cookie.clone()).set_json(json!({"name": "HR"}));
            let refused = call(&app, write().to_request()).await;
            assert_eq!((refused.status, refused.json["type"].as_str()), (403, Some("urn:tokend:problem:csrf")));
            let wrong = call(&app, write().insert_header(("X-CSRF-Token", "nope")).to_request()).await;
            assert_eq!(wrong.status, 403);
            let accepted = call(&app, write().insert_header(("X-CSRF-Token", csrf)).to_request()).await;
            assert_eq!(accepted.status, 201);
        });
    }

    fn lists_page_with_a_cursor_and_filter(url: &str) {
        let h = Harness::new(url);
        let ids: Vec<i64> = (0..5).map(|_| h.client().id.get()).collect();
        run(async {
            let app = h.app().await;
            let session = login(&app, "admin@example.com").await;
            let first = call(&app, admin(GET, "/admin/v1/access-tokens?limit=2", &session, None)).await;
            let page: Vec<i64> = first.json["items"].as_array().unwrap().iter().map(|t| t["id"].as_i64().unwrap()).collect();
            assert_eq!(page, [ids[4], ids[3]]);
            let cursor = first.json["next_cursor"].as_i64().unwrap();
            let second = call(&app, admin(GET, &format!("/admin/v1/access-tokens?limit=2&before={cursor}"), &session, None)).await;
            let page: Vec<i64> = second.json["items"].as_array().unwrap().iter().map(|t| t["id"].as_i64().unwrap()).collect();
            assert_eq!(page, [ids[2], ids[1]]);
            let filtered = call(&app, admin(GET, &format!("/admin/v1/access-tokens?learning_area_id={}&q=zap&expiring_within_days=400", h.area), &session, None)).await;
            assert_eq!(filtered.json["items"].as_array().unwrap().len(), 5);
            let none = call(&app, admin(GET, "/admin/v1/access-tokens?expiring_within_days=30", &session, None)).await;
            assert_eq!(none.json["items"], json!([]));
            assert!(none.json.get("next_cursor").is_none());
        });
    }
}
