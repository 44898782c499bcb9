//! Two instances on one database: each answers validations from its own memory while its lease
//! holds, and a change reported done by one is seen by the very next request to the other.

use std::time::Duration as StdDuration;

use actix_web::http::Method;
use actix_web::test::TestRequest;
use token_core::model::Role;

use crate::support::{Harness, Instance, admin, basic, call, form, get_me, issue_bearer, login, run};

/// Calls `/api/v1/me` on `instance` until its answer is held in memory (the lease keeper needs
/// one poll first), and proves it: the in-memory check alone accepts the token.
async fn warm<S, B>(app: &S, instance: &Instance, bearer: &str)
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    for _ in 0..200 {
        assert_eq!(call(app, get_me(bearer)).await.status, 200);
        let in_memory = instance.state.authority.validate_bearer_in_memory(&*instance.state.clock, Some(bearer));
        if matches!(in_memory, Some(Ok(_))) {
            return;
        }
        actix_rt::time::sleep(StdDuration::from_millis(10)).await;
    }
    panic!("the second instance never cached the validation");
}

fn assert_refused(answer: crate::support::Answer) {
    assert_eq!(answer.status, 401, "{}", answer.json);
    assert_eq!(answer.json["type"], "urn:tokend:problem:invalid-token");
}

token_test_db::backend_tests! {
    fn an_access_token_revoked_on_one_instance_fails_the_next_request_on_another(url: &str) {
        let h = Harness::new(url);
        let other = h.another_instance(url);
        let client = h.client();
        run(async {
            let (a, b) = (h.app().await, other.app().await);
            let bearer = issue_bearer(&a, &client).await;
            warm(&b, &other, &bearer).await;
            let session = login(&a, "admin@example.com").await;
            let revoked = call(&a, admin(Method::POST, &format!("/admin/v1/access-tokens/{}/revoke", client.id), &session, None)).await;
            assert_eq!(revoked.status, 200, "{}", revoked.json);
            assert_refused(call(&b, get_me(&bearer)).await);
            assert!(other.state.authority.validate_bearer_in_memory(&*other.state.clock, Some(&bearer)).is_none());
        });
    }

    fn a_bearer_token_revoked_through_oauth_revoke_fails_on_another_instance(url: &str) {
        let h = Harness::new(url);
        let other = h.another_instance(url);
        let client = h.client();
        run(async {
            let (a, b) = (h.app().await, other.app().await);
            let bearer = issue_bearer(&a, &client).await;
            let sibling = issue_bearer(&a, &client).await;
            warm(&b, &other, &bearer).await;
            let revoke = TestRequest::post()
                .uri("/oauth/revoke")
                .insert_header(form())
                .insert_header(basic(&client.client_id, &client.secret))
                .set_payload(format!("token={bearer}"));
            assert_eq!(call(&a, revoke.to_request()).await.status, 200);
            assert_refused(call(&b, get_me(&bearer)).await);
            assert_eq!(call(&b, get_me(&sibling)).await.status, 200, "only the revoked bearer token stops");
        });
    }

    fn deactivating_or_demoting_the_creator_on_one_instance_fails_on_another(url: &str) {
        let h = Harness::new(url);
        let other = h.another_instance(url);
        let deactivated = h.account("gone@example.com", Role::Administrator);
        let demoted = h.account("demoted@example.com", Role::Administrator);
        let by_deactivated = h.client_in(h.area, deactivated, None);
        let by_demoted = h.client_in(h.area, demoted, None);
        run(async {
            let (a, b) = (h.app().await, other.app().await);
            let first = issue_bearer(&a, &by_deactivated).await;
            let second = issue_bearer(&a, &by_demoted).await;
            warm(&b, &other, &first).await;
            warm(&b, &other, &second).await;
            let session = login(&a, "admin@example.com").await;
            let off = call(&a, admin(Method::POST, &format!("/admin/v1/accounts/{deactivated}/deactivate"), &session, None)).await;
            assert_eq!(off.status, 200, "{}", off.json);
            assert_refused(call(&b, get_me(&first)).await);
            warm(&b, &other, &second).await;
            let role = serde_json::json!({"role": "manager"});
            let down = call(&a, admin(Method::PATCH, &format!("/admin/v1/accounts/{demoted}"), &session, Some(role))).await;
            assert_eq!(down.status, 200, "{}", down.json);
            assert_refused(call(&b, get_me(&second)).await);
        });
    }

    fn a_renamed_learning_area_shows_on_the_next_request_to_another_instance(url: &str) {
        let h = Harness::new(url);
        let other = h.another_instance(url);
        let client = h.client();
        run(async {
            let (a, b) = (h.app().await, other.app().await);
            let bearer = issue_bearer(&a, &client).await;
            warm(&b, &other, &bearer).await;
            let session = login(&a, "admin@example.com").await;
            let name = serde_json::json!({"name": "Sales EMEA"});
            let renamed = call(&a, admin(Method::PATCH, &format!("/admin/v1/learning-areas/{}", h.area), &session, Some(name))).await;
            assert_eq!(renamed.status, 200, "{}", renamed.json);
            let me = call(&b, get_me(&bearer)).await;
            assert_eq!(me.json["learning_area"]["name"], "Sales EMEA");
        });
    }

    fn an_instance_whose_lease_lapsed_validates_from_the_store(url: &str) {
        let h = Harness::new(url);
        let mut other = h.another_instance(url);
        let client = h.client();
        run(async {
            let (a, b) = (h.app().await, crate::support::app_of(&other.state).await);
            let bearer = issue_bearer(&a, &client).await;
            warm(&b, &other, &bearer).await;
            // Its lease keeper stops (a stalled thread, a database it cannot reach).
            drop(other.lease.take());
            actix_rt::time::sleep(other.state.authority.lease_config().lease).await;
            assert!(other.state.authority.validate_bearer_in_memory(&*other.state.clock, Some(&bearer)).is_none());
            assert_eq!(call(&b, get_me(&bearer)).await.status, 200, "still valid, read from the store");
            h.revoke(client.id);
            assert_refused(call(&b, get_me(&bearer)).await);
        });
    }
}
