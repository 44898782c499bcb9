//! The integration API: area A's token can never read, count or write area B's data; the
//! Zapier flow as a script would run it; revocation mid-flow.

use actix_web::http::Method;
use serde_json::{Value, json};
use time::Duration;
use token_core::ids::LearningAreaId;
use token_core::learning::{Attendance, LevelId, TrainingId, UserId};
use token_core::learning_service::{self as learning, NewUser};
use token_core::service::Caller;

use crate::support::{Harness, START, admin as request, call, run};

const GET: Method = Method::GET;
const POST: Method = Method::POST;

/// One learning area's data, made through the services.
struct AreaData {
    level: LevelId,
    users: Vec<UserId>,
    trainings: Vec<TrainingId>,
    registrations: Vec<i64>,
    live_session: i64,
}

fn fill(h: &Harness, area: LearningAreaId, prefix: &str) -> AreaData {
    let caller = Caller::Account(h.admin);
    h.state
        .db
        .transaction(|s| {
            let scope = learning::admin_scope(s, caller, area)?;
            let level = learning::create_level(s, &h.clock, scope, &format!("{prefix} Company"), None)?.id;
            let team = learning::create_level(s, &h.clock, scope, &format!("{prefix} Team"), Some(level))?.id;
            let users = ["ada", "bob"]
                .iter()
                .map(|n| {
                    let new = NewUser {
                        name: format!("{prefix} {n}"),
                        email: format!("{n}@{prefix}.example"),
                        level_id: Some(team),
                    };
                    learning::create_user(s, &h.clock, scope, new).map(|u| u.id)
                })
                .collect::<Result<Vec<_>, _>>()?;
            let trainings = ["Onboarding", "Safety"]
                .iter()
                .map(|t| {
                    learning::create_training(s, &h.clock, scope, &format!("{prefix} {t}"), "A course", Some(level))
                        .map(|t| t.id)
                })
                .collect::<Result<Vec<_>, _>>()?;
            let (first, _) = learning::register(s, &h.clock, scope, Some(users[0]), Some(trainings[0]))?;
            let (second, _) = learning::register(s, &h.clock, scope, Some(users[1]), Some(trainings[0]))?;
            learning::record_progress(s, &h.clock, scope, first.id, 100, Some(90))?;
            let session = learning::create_live_session(
                s,
                &h.clock,
                scope,
                trainings[0],
                &format!("{prefix} Kick-off"),
                START + Duration::days(1),
                START + Duration::days(1) + Duration::hours(1),
            )?;
            learning::record_attendance(s, scope, session.id, users[0], Attendance::Attended)?;
            Ok::<_, token_core::CoreError>(AreaData {
                level,
                users,
                trainings,
                registrations: vec![first.id.get(), second.id.get()],
                live_session: session.id.get(),
            })
        })
        .unwrap()
}

fn ids(list: &Value) -> Vec<i64> {
    list["items"].as_array().unwrap().iter().map(|i| i["id"].as_i64().unwrap()).collect()
}

token_test_db::backend_tests! {
    fn area_a_can_never_read_count_or_write_area_b(url: &str) {
        let h = Harness::new(url);
        let area_b = h.learning_area("Other");
        let a = fill(&h, h.area, "a");
        let b = fill(&h, area_b, "b");
        let client_a = h.client();
        run(async {
            let app = h.app().await;
            let token = crate::support::issue_bearer(&app, &client_a).await;
            let get = |path: String| request(GET, &path, &token, None);

            // Lists show A's data and nothing of B's.
            let lists = [
                ("/api/v1/users", a.users.iter().map(|u| u.get()).collect::<Vec<_>>()),
                ("/api/v1/trainings", a.trainings.iter().map(|t| t.get()).collect()),
                ("/api/v1/registrations", a.registrations.clone()),
                ("/api/v1/completions", vec![a.registrations[0]]),
                ("/api/v1/live-sessions", vec![a.live_session]),
            ];
            for (path, expected) in lists {
                let answer = call(&app, get(path.to_owned())).await;
                assert_eq!(answer.status, 200, "{path}");
                let mut got = ids(&answer.json);
                got.sort();
                let mut expected = expected;
                expected.sort();
                assert_eq!(got, expected, "{path} lists exactly area A's items");
            }
            // Filters naming B's ids find nothing.
            for path in [
                format!("/api/v1/registrations?training_id={}", b.trainings[0]),
                format!("/api/v1/registrations?user_id={}", b.users[0]),
                format!("/api/v1/live-sessions?training_id={}", b.trainings[0]),
            ] {
                let answer = call(&app, get(path.clone())).await;
                assert_eq!((answer.status, &answer.json["items"]), (200, &json!([])), "{path}");
            }
            // B's ids in a path answer exactly like ids that do not exist.
            let b_paths = [
                format!("/api/v1/users/{}", b.users[0]),
                format!("/api/v1/trainings/{}", b.trainings[0]),
                format!("/api/v1/trainings/{}/statistics", b.trainings[0]),
                format!("/api/v1/live-sessions/{}", b.live_session),
            ];
            let missing_paths = ["/api/v1/users/999999", "/api/v1/trainings/999999", "/api/v1/trainings/999999/statistics", "/api/v1/live-sessions/999999"];
            for (foreign, missing) in b_paths.iter().zip(missing_paths) {
                let foreign_answer = call(&app, get(foreign.clone())).await;
                let missing_answer = call(&app, get(missing.to_owned())).await;
                assert_eq!(foreign_answer.status, 404, "{foreign}");
                assert_eq!(foreign_answer.json, missing_answer.json, "{foreign} looks exactly like a missing id");
            }
            // A's own ids work.
            assert_eq!(call(&app, get(format!("/api/v1/users/{}", a.users[0]))).await.status, 200);
            let stats = call(&app, get(format!("/api/v1/trainings/{}/statistics", a.trainings[0]))).await;
            assert_eq!(stats.json["registered"], 2, "counts only area A's registrations");

            // Writes naming B's ids are refused like unknown ids, naming the field.
            let register = |user: i64, training: i64| request(POST, "/api/v1/registrations", &token, Some(json!({"user_id": user, "training_id": training})));
            let foreign_user = call(&app, register(b.users[0].get(), a.trainings[0].get())).await;
            let unknown_user = call(&app, register(999_999, a.trainings[0].get())).await;
            assert_eq!((foreign_user.status, unknown_user.status), (422, 422));
            assert_eq!(foreign_user.json["errors"][0]["field"], "user_id");
            assert_eq!(foreign_user.json["type"], unknown_user.json["type"]);
            let foreign_training = call(&app, register(a.users[0].get(), b.trainings[0].get())).await;
            assert_eq!((foreign_training.status, &foreign_training.json["errors"][0]["field"]), (422, &json!("training_id")));
            let foreign_level = call(&app, request(POST, "/api/v1/users", &token, Some(json!({"name": "Eve", "email": "eve@a.example", "level_id": b.level.get()})))).await;
            assert_eq!((foreign_level.status, &foreign_level.json["errors"][0]["field"]), (422, &json!("level_id")));
            // An email used in B is free in A: B's users are not even visible as a conflict.
            let same_email = call(&app, request(POST, "/api/v1/users", &token, Some(json!({"name": "Ada B", "email": "ada@b.example"})))).await;
            assert_eq!(same_email.status, 201);

            // B's data is untouched and still B's alone.
            let b_users = h.state.db.run(|s| {
                let scope = learning::admin_scope(s, Caller::Account(h.admin), area_b)?;
                learning::list_users(s, scope, Default::default())
            }).unwrap();
            assert_eq!(b_users.items.len(), 2);
            // And the integration token never reaches the admin API.
            assert_eq!(call(&app, get("/admin/v1/learning-areas".into())).await.status, 401);
        });
    }

    fn the_zapier_flow_polls_registers_and_sees_the_completion(url: &str) {
        let h = Harness::new(url);
        let data = fill(&h, h.area, "a");
        let client = h.client();
        run(async {
            let app = h.app().await;
            let token = crate::support::issue_bearer(&app, &client).await;
            let me = call(&app, request(GET, "/api/v1/me", &token, None)).await;
            assert_eq!(me.json["learning_area"]["name"], "Sales");

            let first_poll = call(&app, request(GET, "/api/v1/registrations", &token, None)).await;
            let seen = ids(&first_poll.json);
            let body = json!({"user_id": data.users[1].get(), "training_id": data.trainings[1].get()});
            let created = call(&app, request(POST, "/api/v1/registrations", &token, Some(body.clone()))).await;
            assert_eq!(created.status, 201, "{}", created.json);
            assert_eq!(created.json["status"], "not_started");
            let new_id = created.json["id"].as_i64().unwrap();
            assert!(!seen.contains(&new_id));
            let again = call(&app, request(POST, "/api/v1/registrations", &token, Some(body))).await;
            assert_eq!((again.status, again.json["id"].as_i64()), (200, Some(new_id)), "registering twice returns the existing one");

            let next_poll = call(&app, request(GET, "/api/v1/registrations", &token, None)).await;
            assert_eq!(ids(&next_poll.json)[0], new_id, "the new registration is first on the next poll");

            h.clock.advance(Duration::minutes(30));
            h.state.db.transaction(|s| {
                let scope = learning::admin_scope(s, Caller::Account(h.admin), h.area)?;
                learning::record_progress(s, &h.clock, scope, token_core::learning::RegistrationId::new(new_id), 100, Some(75))
            }).unwrap();
            let completions = call(&app, request(GET, "/api/v1/completions", &token, None)).await;
            assert_eq!(completions.json["items"][0]["id"], new_id, "newest completion first");
            assert_eq!(completions.json["items"][0]["score"], 75);
            assert_eq!(completions.json["items"][0]["completed_at"], "2026-03-01T12:30:00Z");
            let since = call(&app, request(GET, "/api/v1/completions?since=2026-03-01T12:15:00Z", &token, None)).await;
            assert_eq!(ids(&since.json), [new_id]);

            // An administrator revokes the token mid-flow: the very next call fails.
            h.revoke(client.id);
            let after = call(&app, request(GET, "/api/v1/registrations", &token, None)).await;
            assert_eq!(after.status, 401);
            assert_eq!(after.header(actix_web::http::header::WWW_AUTHENTICATE), Some(r#"Bearer realm="tokend", error="invalid_token""#));
        });
    }

    fn lists_page_newest_first_with_a_cursor(url: &str) {
        let h = Harness::new(url);
        let data = fill(&h, h.area, "a");
        let client = h.client();
        run(async {
            let app = h.app().await;
            let token = crate::support::issue_bearer(&app, &client).await;
            let first = call(&app, request(GET, "/api/v1/users?limit=1", &token, None)).await;
            assert_eq!(ids(&first.json), [data.users[1].get()]);
            let cursor = first.json["next_cursor"].as_str().unwrap().to_owned();
            let second = call(&app, request(GET, &format!("/api/v1/users?limit=1&before={cursor}"), &token, None)).await;
            assert_eq!(ids(&second.json), [data.users[0].get()]);
            assert!(second.json.get("next_cursor").is_none());
            assert_eq!(call(&app, request(GET, "/api/v1/users?limit=501", &token, None)).await.status, 422);
            assert_eq!(call(&app, request(GET, "/api/v1/registrations?status=done", &token, None)).await.status, 422);
            assert_eq!(call(&app, request(GET, "/api/v1/completions?before=garbage", &token, None)).await.status, 422);

            let detail = call(&app, request(GET, &format!("/api/v1/live-sessions/{}", data.live_session), &token, None)).await;
            assert_eq!(detail.json["attendees"], json!([{"user_id": data.users[0].get(), "attendance": "attended"}]));
            let stats = call(&app, request(GET, &format!("/api/v1/trainings/{}/statistics", data.trainings[0]), &token, None)).await;
            assert_eq!(stats.json, json!({
                "training_id": data.trainings[0].get(), "registered": 2, "not_started": 1, "in_progress": 0,
                "completed": 1, "completion_rate": 0.5, "average_score": 90.0, "best_score": 90
            }));
        });
    }
}
