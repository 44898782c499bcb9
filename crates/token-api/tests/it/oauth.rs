//! `/oauth/*` and bearer validation, one rule per test.

use actix_web::http::header;
use actix_web::test::TestRequest;
use time::Duration;
use token_core::model::Role;
use token_core::service::{self, Caller};

use crate::support::{Harness, basic, call, form, get_me, issue_bearer, run};

fn token_request(body: &str) -> TestRequest {
    TestRequest::post().uri("/oauth/token").insert_header(form()).set_payload(body.to_owned())
}

token_test_db::backend_tests! {
    fn client_secret_basic_gets_a_bearer_token_with_no_store(url: &str) {
        let h = Harness::new(url);
        let client = h.client();
        run(async {
            let app = h.app().await;
            let req = token_request("grant_type=client_credentials").insert_header(basic(&client.client_id, &client.secret));
            let answer = call(&app, req.to_request()).await;
            assert_eq!(answer.status, 200, "{}", answer.json);
            assert_eq!(answer.json["token_type"], "Bearer");
            assert_eq!(answer.json["expires_in"], 3600);
            assert_eq!(answer.json["scope"], format!("area:{}", h.area));
            assert!(answer.json["access_token"].as_str().unwrap().starts_with("tkb_"));
            assert!(answer.json.get("refresh_token").is_none());
            assert_eq!(answer.header(header::CACHE_CONTROL), Some("no-store"));
            assert_eq!(answer.header(header::PRAGMA), Some("no-cache"));
        });
    }

    fn client_secret_post_works_and_unknown_parameters_are_ignored(url: &str) {
        let h = Harness::new(url);
        let client = h.client();
        run(async {
            let app = h.app().await;
            let body = format!(
                "grant_type=client_credentials&client_id={}&client_secret={}&scope=&audience=x",
                client.client_id, client.secret
            );
            let answer = call(&app, token_request(&body).to_request()).await;
            assert_eq!(answer.status, 200, "{}", answer.json);
        });
    }

    fn the_only_scope_is_the_tokens_learning_area(url: &str) {
        let h = Harness::new(url);
        let client = h.client();
        run(async {
            let app = h.app().await;
            let ask = |scope: String| {
                token_request(&format!("grant_type=client_credentials&scope={scope}"))
                    .insert_header(basic(&client.client_id, &client.secret))
                    .to_request()
            };
            let own = call(&app, ask(format!("area:{}", h.area))).await;
            assert_eq!(own.status, 200);
            let other = call(&app, ask("area:999".to_owned())).await;
            assert_eq!((other.status, other.json["error"].as_str()), (400, Some("invalid_scope")));
            assert_eq!(other.header(header::CACHE_CONTROL), Some("no-store"));
        });
    }

    fn malformed_requests_are_invalid_request(url: &str) {
        let h = Harness::new(url);
        let client = h.client();
        run(async {
            let app = h.app().await;
            let auth = basic(&client.client_id, &client.secret);
            let cases = [
                ("missing grant_type", token_request("scope=x").insert_header(auth.clone())),
                (
                    "repeated parameter",
                    token_request("grant_type=client_credentials&grant_type=client_credentials").insert_header(auth.clone()),
                ),
                (
                    "wrong content type",
                    TestRequest::post().uri("/oauth/token").insert_header((header::CONTENT_TYPE, "application/json"))
                        .set_payload("{}").insert_header(auth.clone()),
                ),
                (
                    "malformed Basic header",
                    token_request("grant_type=client_credentials").insert_header((header::AUTHORIZATION, "Basic !!!")),
                ),
                (
                    "two authentication methods",
                    token_request(&format!("grant_type=client_credentials&client_secret={}", client.secret)).insert_header(auth.clone()),
                ),
            ];
            for (case, req) in cases {
                let answer = call(&app, req.to_request()).await;
                assert_eq!(answer.status, 400, "{case}: {}", answer.json);
                assert_eq!(answer.json["error"], "invalid_request", "{case}");
                assert!(answer.json["error_description"].is_string(), "{case}");
                assert_eq!(answer.header(header::CACHE_CONTROL), Some("no-store"), "{case}");
            }
        });
    }

    fn another_grant_type_is_unsupported(url: &str) {
        let h = Harness::new(url);
        let client = h.client();
        run(async {
            let app = h.app().await;
            let req = token_request("grant_type=password&username=a&password=b").insert_header(basic(&client.client_id, &client.secret));
            let answer = call(&app, req.to_request()).await;
            assert_eq!((answer.status, answer.json["error"].as_str()), (400, Some("unsupported_grant_type")));
        });
    }

    fn every_client_failure_gets_the_same_invalid_client_answer(url: &str) {
        let h = Harness::new(url);
        let good = h.client();
        let revoked = h.client();
        h.revoke(revoked.id);
        let short_lived = h.client_in(h.area, h.admin, Some(super::support::START + Duration::hours(1)));
        let demoted = h.account("demoted@example.com", Role::Administrator);
        let suspended = h.client_in(h.area, demoted, None);
        h.write(|s| service::change_role(s, &h.clock, Caller::Account(h.admin), demoted, Role::Manager));
        h.clock.advance(Duration::hours(2));
        let unknown_id = token_core::secret::ClientId::generate().unwrap().to_string();
        let other_secret = token_core::secret::ClientSecret::generate().unwrap().expose().to_owned();
        run(async {
            let app = h.app().await;
            let cases = [
                ("unknown client id", unknown_id.as_str(), good.secret.as_str()),
                ("wrong secret", good.client_id.as_str(), other_secret.as_str()),
                ("mistyped secret", good.client_id.as_str(), "tks_typo"),
                ("revoked token", revoked.client_id.as_str(), revoked.secret.as_str()),
                ("expired token", short_lived.client_id.as_str(), short_lived.secret.as_str()),
                ("suspended token", suspended.client_id.as_str(), suspended.secret.as_str()),
            ];
            let mut bodies = Vec::new();
            for (case, id, secret) in cases {
                let basic_answer = call(&app, token_request("grant_type=client_credentials").insert_header(basic(id, secret)).to_request()).await;
                assert_eq!(basic_answer.status, 401, "{case}");
                assert_eq!(basic_answer.json["error"], "invalid_client", "{case}");
                assert_eq!(basic_answer.header(header::WWW_AUTHENTICATE), Some(r#"Basic realm="tokend""#), "{case}");
                assert_eq!(basic_answer.header(header::CACHE_CONTROL), Some("no-store"), "{case}");
                bodies.push(basic_answer.json.to_string());

                let body = format!("grant_type=client_credentials&client_id={id}&client_secret={secret}");
                let post_answer = call(&app, token_request(&body).to_request()).await;
                assert_eq!((post_answer.status, post_answer.json["error"].as_str()), (401, Some("invalid_client")), "{case}");
                assert_eq!(post_answer.header(header::WWW_AUTHENTICATE), None, "{case}: no Basic challenge without Basic");
            }
            bodies.dedup();
            assert_eq!(bodies.len(), 1, "one answer for every cause");
            let none = call(&app, token_request("grant_type=client_credentials").to_request()).await;
            assert_eq!((none.status, none.json["error"].as_str()), (401, Some("invalid_client")));
        });
        let reasons = audit_reasons(&h);
        for reason in ["unknown_client", "wrong_secret", "malformed_credentials", "access_token_revoked", "access_token_expired", "access_token_suspended"] {
            assert!(reasons.iter().any(|r| r == reason), "the audit log records {reason}: {reasons:?}");
        }
    }

    fn repeated_failures_are_throttled_without_hashing(url: &str) {
        let h = Harness::new(url);
        let client = h.client();
        let wrong = token_core::secret::ClientSecret::generate().unwrap().expose().to_owned();
        run(async {
            let app = h.app().await;
            for _ in 0..5 {
                let answer = call(&app, token_request("grant_type=client_credentials").insert_header(basic(&client.client_id, &wrong)).to_request()).await;
                assert_eq!(answer.status, 401);
            }
            let locked = call(&app, token_request("grant_type=client_credentials").insert_header(basic(&client.client_id, &client.secret)).to_request()).await;
            assert_eq!(locked.status, 429, "even the right secret waits: {}", locked.json);
            assert_eq!(locked.header(header::RETRY_AFTER), Some("60"));
            assert_eq!(locked.header(header::CACHE_CONTROL), Some("no-store"));
            h.clock.advance(Duration::seconds(61));
            let later = call(&app, token_request("grant_type=client_credentials").insert_header(basic(&client.client_id, &client.secret)).to_request()).await;
            assert_eq!(later.status, 200);
        });
    }

    fn past_the_argon2_budget_only_secrets_verified_before_get_tokens(url: &str) {
        let mut h = Harness::new(url);
        let config = token_oauth::OAuthConfig { max_verifications_per_second: 2, ..Default::default() };
        h.state.authority = std::sync::Arc::new(token_oauth::Authority::new(config, h.state.hasher.clone()).unwrap());
        let (known, other) = (h.client(), h.client());
        let wrong = token_core::secret::ClientSecret::generate().unwrap().expose().to_owned();
        run(async {
            let app = h.app().await;
            let ask = |client_id: &str, secret: &str| token_request("grant_type=client_credentials").insert_header(basic(client_id, secret)).to_request();
            // Two argon2 verifications spend this second's budget.
            assert_eq!(call(&app, ask(&known.client_id, &known.secret)).await.status, 200);
            assert_eq!(call(&app, ask(&other.client_id, &wrong)).await.status, 401);
            let refused = call(&app, ask(&other.client_id, &other.secret)).await;
            assert_eq!(refused.status, 429, "not verified before: waits for the budget: {}", refused.json);
            assert_eq!(refused.json["error"], "slow_down");
            assert_eq!(refused.header(header::RETRY_AFTER), Some("1"));
            assert_eq!(call(&app, ask(&known.client_id, &known.secret)).await.status, 200, "verified before: no budget needed");
            assert_eq!(call(&app, ask(&known.client_id, &wrong)).await.status, 429, "a different secret is not vouched for");
        });
    }

    fn a_bearer_token_opens_the_integration_api_until_it_expires(url: &str) {
        let h = Harness::new(url);
        let client = h.client();
        run(async {
            let app = h.app().await;
            let bearer = issue_bearer(&app, &client).await;
            let me = call(&app, get_me(&bearer)).await;
            assert_eq!(me.status, 200);
            assert_eq!(me.json["learning_area"]["id"], h.area.get());
            assert_eq!(me.json["access_token"]["client_id"], client.client_id.as_str());
            h.clock.advance(Duration::minutes(59));
            assert_eq!(call(&app, get_me(&bearer)).await.status, 200);
            h.clock.advance(Duration::minutes(1));
            assert_invalid_token(call(&app, get_me(&bearer)).await);
        });
    }

    fn a_bearer_token_never_outlives_its_access_token(url: &str) {
        let h = Harness::new(url);
        let client = h.client_in(h.area, h.admin, Some(super::support::START + Duration::minutes(10)));
        run(async {
            let app = h.app().await;
            let req = token_request("grant_type=client_credentials").insert_header(basic(&client.client_id, &client.secret));
            let answer = call(&app, req.to_request()).await;
            assert_eq!(answer.json["expires_in"], 600);
            let bearer = answer.json["access_token"].as_str().unwrap().to_owned();
            h.clock.advance(Duration::minutes(10));
            assert_invalid_token(call(&app, get_me(&bearer)).await);
        });
    }

    fn revoking_the_access_token_kills_its_live_bearer_tokens_at_once(url: &str) {
        let h = Harness::new(url);
        let client = h.client();
        run(async {
            let app = h.app().await;
            let first = issue_bearer(&app, &client).await;
            let second = issue_bearer(&app, &client).await;
            assert_eq!(call(&app, get_me(&first)).await.status, 200);
            h.revoke(client.id);
            assert_invalid_token(call(&app, get_me(&first)).await);
            assert_invalid_token(call(&app, get_me(&second)).await);
        });
    }

    fn deactivating_the_creator_suspends_its_tokens(url: &str) {
        let h = Harness::new(url);
        let creator = h.account("creator@example.com", Role::Administrator);
        let client = h.client_in(h.area, creator, None);
        run(async {
            let app = h.app().await;
            let bearer = issue_bearer(&app, &client).await;
            h.write(|s| service::deactivate_account(s, &h.clock, Caller::Account(h.admin), creator));
            assert_invalid_token(call(&app, get_me(&bearer)).await);
            let again = call(&app, token_request("grant_type=client_credentials").insert_header(basic(&client.client_id, &client.secret)).to_request()).await;
            assert_eq!(again.status, 401);
        });
    }

    fn missing_or_malformed_bearer_tokens_get_a_401_challenge(url: &str) {
        let h = Harness::new(url);
        run(async {
            let app = h.app().await;
            let none = call(&app, TestRequest::get().uri("/api/v1/me").to_request()).await;
            assert_eq!(none.status, 401);
            assert_eq!(none.header(header::WWW_AUTHENTICATE), Some(r#"Bearer realm="tokend""#));
            assert_eq!(none.header(header::CONTENT_TYPE), Some("application/problem+json"));
            for value in ["Bearer tkb_nonsense", "Basic abc", "Bearer", "tkb_x"] {
                let req = TestRequest::get().uri("/api/v1/me").insert_header((header::AUTHORIZATION, value));
                assert_invalid_token(call(&app, req.to_request()).await);
            }
            let unknown = token_core::secret::TokenFormat::BEARER.generate().unwrap();
            assert_invalid_token(call(&app, get_me(&unknown)).await);
        });
    }

    fn introspection_answers_only_for_the_clients_own_active_tokens(url: &str) {
        let h = Harness::new(url);
        let client = h.client();
        let other = h.client();
        run(async {
            let app = h.app().await;
            let own = issue_bearer(&app, &client).await;
            let foreign = issue_bearer(&app, &other).await;
            let introspect = |token: &str| {
                TestRequest::post()
                    .uri("/oauth/introspect")
                    .insert_header(form())
                    .insert_header(basic(&client.client_id, &client.secret))
                    .set_payload(format!("token={token}"))
                    .to_request()
            };
            let active = call(&app, introspect(&own)).await;
            assert_eq!(active.status, 200);
            assert_eq!(active.json["active"], true);
            assert_eq!(active.json["client_id"], client.client_id.as_str());
            assert_eq!(active.json["scope"], format!("area:{}", h.area));
            assert_eq!(active.json["token_type"], "Bearer");
            assert_eq!(active.json["exp"].as_i64().unwrap() - active.json["iat"].as_i64().unwrap(), 3600);
            assert_eq!(active.header(header::CACHE_CONTROL), Some("no-store"));
            assert_eq!(call(&app, introspect(&foreign)).await.json, serde_json::json!({"active": false}));
            assert_eq!(call(&app, introspect("tkb_unknown")).await.json, serde_json::json!({"active": false}));
            h.clock.advance(Duration::hours(1));
            assert_eq!(call(&app, introspect(&own)).await.json, serde_json::json!({"active": false}));
        });
    }

    fn a_client_revokes_its_own_bearer_token(url: &str) {
        let h = Harness::new(url);
        let client = h.client();
        let other = h.client();
        run(async {
            let app = h.app().await;
            let own = issue_bearer(&app, &client).await;
            let foreign = issue_bearer(&app, &other).await;
            let revoke = |token: &str| {
                TestRequest::post()
                    .uri("/oauth/revoke")
                    .insert_header(form())
                    .insert_header(basic(&client.client_id, &client.secret))
                    .set_payload(format!("token={token}&token_type_hint=access_token"))
                    .to_request()
            };
            assert_eq!(call(&app, revoke(&own)).await.status, 200);
            assert_invalid_token(call(&app, get_me(&own)).await);
            assert_eq!(call(&app, revoke(&own)).await.status, 200, "again: still 200");
            assert_eq!(call(&app, revoke("tkb_unknown")).await.status, 200);
            assert_eq!(call(&app, revoke(&foreign)).await.status, 200);
            assert_eq!(call(&app, get_me(&foreign)).await.status, 200, "another client's token is untouched");
        });
    }

    fn the_metadata_document_describes_the_server(url: &str) {
        let h = Harness::new(url);
        run(async {
            let app = h.app().await;
            let meta = call(&app, TestRequest::get().uri("/.well-known/oauth-authorization-server").to_request()).await;
            assert_eq!(meta.status, 200);
            assert_eq!(meta.json["issuer"], "https://tokend.example.com");
            assert_eq!(meta.json["token_endpoint"], "https://tokend.example.com/oauth/token");
            assert_eq!(meta.json["introspection_endpoint"], "https://tokend.example.com/oauth/introspect");
            assert_eq!(meta.json["revocation_endpoint"], "https://tokend.example.com/oauth/revoke");
            assert_eq!(meta.json["grant_types_supported"], serde_json::json!(["client_credentials"]));
            assert_eq!(
                meta.json["token_endpoint_auth_methods_supported"],
                serde_json::json!(["client_secret_basic", "client_secret_post"])
            );
        });
    }

    fn last_use_is_recorded_in_batches_and_dead_bearer_tokens_are_purged(url: &str) {
        let h = Harness::new(url);
        let client = h.client();
        run(async {
            let app = h.app().await;
            let bearer = issue_bearer(&app, &client).await;
            assert_eq!(call(&app, get_me(&bearer)).await.status, 200);
        });
        let before = h.state.db.run(|s| token_core::store::Store::access_token(s, client.id)).unwrap().unwrap();
        assert_eq!(before.token.last_used_at, None, "no write per request");
        assert_eq!(h.state.authority.flush_usage(&h.state.db).unwrap(), 1);
        let after = h.state.db.run(|s| token_core::store::Store::access_token(s, client.id)).unwrap().unwrap();
        assert_eq!(after.token.last_used_at, Some(super::support::START));
        h.clock.advance(Duration::hours(2));
        assert_eq!(h.state.authority.purge(&h.state.db, &h.clock).unwrap(), 1);
    }
}

fn assert_invalid_token(answer: crate::support::Answer) {
    assert_eq!(answer.status, 401, "{}", answer.json);
    assert_eq!(answer.header(header::WWW_AUTHENTICATE), Some(r#"Bearer realm="tokend", error="invalid_token""#));
    assert_eq!(answer.json["type"], "urn:tokend:problem:invalid-token");
}

fn audit_reasons(h: &Harness) -> Vec<String> {
    use diesel::prelude::*;
    use token_store::schema::audit_events;
    let details: Vec<String> = h
        .state
        .db
        .run(|s| {
            audit_events::table
                .filter(audit_events::action.eq("oauth.token"))
                .select(audit_events::details)
                .load(s.connection())
                .map_err(|e| token_core::StoreError::Failure(Box::new(e)))
        })
        .unwrap();
    details
        .iter()
        .filter_map(|d| serde_json::from_str::<serde_json::Value>(d).ok())
        .filter_map(|v| v["reason"].as_str().map(str::to_owned))
        .collect()
}
