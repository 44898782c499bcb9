//! The admin API for a learning area's data (`/admin/v1/learning-areas/{area_id}/…`):
//! administrators only, one area at a time, creation and lists of every kind, progress and
//! attendance.

use actix_web::http::Method;
use actix_web::test::TestRequest;
use serde_json::{Value, json};
use time::Duration;
use token_core::model::Role;

use crate::support::{Harness, admin, call, login, run};

const GET: Method = Method::GET;
const POST: Method = Method::POST;
const PUT: Method = Method::PUT;

fn fields(problem: &Value) -> Vec<&str> {
    problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect()
}

fn ids(list: &Value) -> Vec<i64> {
    list["items"].as_array().unwrap().iter().map(|i| i["id"].as_i64().unwrap()).collect()
}

token_test_db::backend_tests! {
    fn only_administrators_reach_an_existing_areas_data(url: &str) {
        let h = Harness::new(url);
        h.account("manager@example.com", Role::Manager);
        run(async {
            let app = h.app().await;
            let admin_session = login(&app, "admin@example.com").await;
            let manager_session = login(&app, "manager@example.com").await;
            let a = format!("/admin/v1/learning-areas/{}", h.area.get());
            let endpoints: Vec<(Method, String, Option<Value>)> = vec![
                (GET, format!("{a}/levels"), None),
                (POST, format!("{a}/levels"), Some(json!({"name": "Company"}))),
                (GET, format!("{a}/users"), None),
                (POST, format!("{a}/users"), Some(json!({"name": "Ada", "email": "ada@example.com"}))),
                (GET, format!("{a}/users/1"), None),
                (GET, format!("{a}/trainings"), None),
                (POST, format!("{a}/trainings"), Some(json!({"title": "Safety"}))),
                (GET, format!("{a}/trainings/1"), None),
                (GET, format!("{a}/registrations"), None),
                (POST, format!("{a}/registrations"), Some(json!({"user_id": 1, "training_id": 1}))),
                (POST, format!("{a}/registrations/1/progress"), Some(json!({"progress": 50}))),
                (GET, format!("{a}/live-sessions"), None),
                (POST, format!("{a}/live-sessions"), Some(json!({"training_id": 1, "title": "Q&A"}))),
                (GET, format!("{a}/live-sessions/1"), None),
                (PUT, format!("{a}/live-sessions/1/attendees/1"), Some(json!({"attendance": "maybe"}))),
            ];
            for (method, path, body) in &endpoints {
                let anonymous = TestRequest::default().method(method.clone()).uri(path);
                let anonymous = match body { Some(b) => anonymous.set_json(b), None => anonymous };
                assert_eq!(call(&app, anonymous.to_request()).await.status, 401, "anonymous {method} {path}");
                let answer = call(&app, admin(method.clone(), path, &manager_session, body.clone())).await;
                assert_eq!(answer.status, 403, "manager {method} {path}: {}", answer.json);
                assert_eq!(answer.json["type"], "urn:tokend:problem:forbidden");
                let unknown_area = path.replacen(&a, "/admin/v1/learning-areas/999", 1);
                let answer = call(&app, admin(method.clone(), &unknown_area, &admin_session, body.clone())).await;
                assert_eq!(answer.status, 404, "administrator {method} {unknown_area}: {}", answer.json);
                assert_eq!(answer.json["detail"], "learning area not found");
            }
            let not_a_number = call(&app, admin(GET, "/admin/v1/learning-areas/abc/users", &admin_session, None)).await;
            assert_eq!(not_a_number.status, 404);
        });
    }

    fn an_administrator_creates_and_lists_every_kind(url: &str) {
        let h = Harness::new(url);
        run(async {
            let app = h.app().await;
            let s = login(&app, "admin@example.com").await;
            let a = format!("/admin/v1/learning-areas/{}", h.area.get());
            let post = |path: String, body: Value| admin(POST, &path, &s, Some(body));

            let company = call(&app, post(format!("{a}/levels"), json!({"name": " Northwind "}))).await;
            assert_eq!(company.status, 201, "{}", company.json);
            assert_eq!(company.json["name"], "Northwind");
            assert_eq!(company.json["parent_id"], Value::Null);
            assert_eq!(company.json["created_at"], "2026-03-01T12:00:00Z");
            let company_id = company.json["id"].as_i64().unwrap();
            let sales = call(&app, post(format!("{a}/levels"), json!({"name": "Sales", "parent_id": company_id}))).await;
            assert_eq!((sales.status, &sales.json["parent_id"]), (201, &json!(company_id)));
            let sales_id = sales.json["id"].as_i64().unwrap();
            let orphan = call(&app, post(format!("{a}/levels"), json!({"name": "", "parent_id": 999}))).await;
            assert_eq!((orphan.status, fields(&orphan.json)), (422, vec!["name", "parent_id"]));
            let levels = call(&app, admin(GET, &format!("{a}/levels"), &s, None)).await;
            assert_eq!(levels.status, 200);
            assert_eq!(ids(&levels.json), [company_id, sales_id], "top-down");
            assert!(levels.json.get("next_cursor").is_none());

            let mut users = Vec::new();
            for (name, email) in [("Ada Lovelace", "ada@example.com"), ("Alan Turing", "alan@example.com"), ("Grace Hopper", "grace@example.com")] {
                let user = call(&app, post(format!("{a}/users"), json!({"name": name, "email": email, "level_id": sales_id}))).await;
                assert_eq!(user.status, 201, "{}", user.json);
                assert_eq!((&user.json["email"], &user.json["level_id"]), (&json!(email), &json!(sales_id)));
                users.push(user.json["id"].as_i64().unwrap());
            }
            let taken = call(&app, post(format!("{a}/users"), json!({"name": "Ada again", "email": "ADA@example.com"}))).await;
            assert_eq!((taken.status, taken.json["errors"][0]["field"].as_str()), (409, Some("email")));
            let unknown_field = call(&app, post(format!("{a}/users"), json!({"name": "X", "email": "x@example.com", "role": "admin"}))).await;
            assert_eq!(unknown_field.status, 400);
            let first_page = call(&app, admin(GET, &format!("{a}/users?limit=2"), &s, None)).await;
            assert_eq!(ids(&first_page.json), [users[2], users[1]], "newest first");
            let cursor = first_page.json["next_cursor"].as_str().unwrap().to_owned();
            let second_page = call(&app, admin(GET, &format!("{a}/users?limit=2&before={cursor}"), &s, None)).await;
            assert_eq!(ids(&second_page.json), [users[0]]);
            assert!(second_page.json.get("next_cursor").is_none());
            let one = call(&app, admin(GET, &format!("{a}/users/{}", users[0]), &s, None)).await;
            assert_eq!((one.status, &one.json["name"]), (200, &json!("Ada Lovelace")));
            assert_eq!(call(&app, admin(GET, &format!("{a}/users/999"), &s, None)).await.status, 404);

            let training = call(&app, post(format!("{a}/trainings"), json!({"title": "Safety", "description": "Lifting and fire drills", "level_id": company_id}))).await;
            assert_eq!(training.status, 201, "{}", training.json);
            assert_eq!(training.json["description"], "Lifting and fire drills");
            let training_id = training.json["id"].as_i64().unwrap();
            let bare = call(&app, post(format!("{a}/trainings"), json!({"title": "GDPR"}))).await;
            assert_eq!((bare.status, &bare.json["description"], &bare.json["level_id"]), (201, &json!(""), &Value::Null));
            let trainings = call(&app, admin(GET, &format!("{a}/trainings"), &s, None)).await;
            assert_eq!(ids(&trainings.json), [bare.json["id"].as_i64().unwrap(), training_id]);
            let got = call(&app, admin(GET, &format!("{a}/trainings/{training_id}"), &s, None)).await;
            assert_eq!((got.status, &got.json["title"]), (200, &json!("Safety")));

            let body = json!({"user_id": users[0], "training_id": training_id});
            let registered = call(&app, post(format!("{a}/registrations"), body.clone())).await;
            assert_eq!(registered.status, 201, "{}", registered.json);
            assert_eq!((&registered.json["status"], &registered.json["progress"]), (&json!("not_started"), &json!(0)));
            let again = call(&app, post(format!("{a}/registrations"), body)).await;
            assert_eq!((again.status, &again.json["id"]), (200, &registered.json["id"]), "the existing registration");
            let second = call(&app, post(format!("{a}/registrations"), json!({"user_id": users[1], "training_id": training_id}))).await;
            assert_eq!(second.status, 201);
            let missing = call(&app, post(format!("{a}/registrations"), json!({}))).await;
            assert_eq!((missing.status, fields(&missing.json)), (422, vec!["user_id", "training_id"]));
            let all = call(&app, admin(GET, &format!("{a}/registrations"), &s, None)).await;
            assert_eq!(ids(&all.json), [second.json["id"].as_i64().unwrap(), registered.json["id"].as_i64().unwrap()]);
            let of_user = call(&app, admin(GET, &format!("{a}/registrations?user_id={}", users[1]), &s, None)).await;
            assert_eq!(ids(&of_user.json), [second.json["id"].as_i64().unwrap()]);
            let bad_status = call(&app, admin(GET, &format!("{a}/registrations?status=sleeping"), &s, None)).await;
            assert_eq!((bad_status.status, fields(&bad_status.json)), (422, vec!["status"]));

            let live = call(&app, post(format!("{a}/live-sessions"), json!({
                "training_id": training_id, "title": "Safety Q&A",
                "starts_at": "2026-03-10T09:00:00Z", "ends_at": "2026-03-10T10:00:00Z"
            }))).await;
            assert_eq!(live.status, 201, "{}", live.json);
            assert_eq!((&live.json["starts_at"], &live.json["attendees"]), (&json!("2026-03-10T09:00:00Z"), &json!([])));
            let no_times = call(&app, post(format!("{a}/live-sessions"), json!({"training_id": training_id, "title": "Q&A"}))).await;
            assert_eq!((no_times.status, fields(&no_times.json)), (422, vec!["starts_at", "ends_at"]));
            let backwards = call(&app, post(format!("{a}/live-sessions"), json!({
                "training_id": 999, "title": "Q&A", "starts_at": "2026-03-10T09:00:00Z", "ends_at": "2026-03-10T08:00:00Z"
            }))).await;
            assert_eq!((backwards.status, fields(&backwards.json)), (422, vec!["training_id", "ends_at"]));
            let sessions = call(&app, admin(GET, &format!("{a}/live-sessions?training_id={training_id}"), &s, None)).await;
            assert_eq!(ids(&sessions.json), [live.json["id"].as_i64().unwrap()]);
            assert!(sessions.json["items"][0].get("attendees").is_none(), "the list has no attendees");
            let later = call(&app, admin(GET, &format!("{a}/live-sessions?from=2026-03-11T00:00:00Z"), &s, None)).await;
            assert_eq!(ids(&later.json), Vec::<i64>::new());
        });
    }

    fn another_areas_data_is_invisible(url: &str) {
        let h = Harness::new(url);
        let other = h.learning_area("Marketing");
        run(async {
            let app = h.app().await;
            let s = login(&app, "admin@example.com").await;
            let a = format!("/admin/v1/learning-areas/{}", h.area.get());
            let b = format!("/admin/v1/learning-areas/{}", other.get());
            let post = |path: String, body: Value| admin(POST, &path, &s, Some(body));
            let level = call(&app, post(format!("{a}/levels"), json!({"name": "Sales"}))).await.json["id"].as_i64().unwrap();
            let user = call(&app, post(format!("{a}/users"), json!({"name": "Ada", "email": "ada@example.com"}))).await.json["id"].as_i64().unwrap();
            let training = call(&app, post(format!("{a}/trainings"), json!({"title": "Safety"}))).await.json["id"].as_i64().unwrap();
            let registration = call(&app, post(format!("{a}/registrations"), json!({"user_id": user, "training_id": training}))).await.json["id"].as_i64().unwrap();
            let live = call(&app, post(format!("{a}/live-sessions"), json!({
                "training_id": training, "title": "Q&A", "starts_at": "2026-03-10T09:00:00Z", "ends_at": "2026-03-10T10:00:00Z"
            }))).await.json["id"].as_i64().unwrap();

            for path in [format!("{b}/users/{user}"), format!("{b}/trainings/{training}"), format!("{b}/live-sessions/{live}")] {
                assert_eq!(call(&app, admin(GET, &path, &s, None)).await.status, 404, "{path}");
            }
            for list in ["levels", "users", "trainings", "registrations", "live-sessions"] {
                let answer = call(&app, admin(GET, &format!("{b}/{list}"), &s, None)).await;
                assert_eq!((answer.status, ids(&answer.json)), (200, vec![]), "{list} of the other area");
            }
            let progress = call(&app, post(format!("{b}/registrations/{registration}/progress"), json!({"progress": 100}))).await;
            assert_eq!(progress.status, 404);
            let borrowed = call(&app, post(format!("{b}/registrations"), json!({"user_id": user, "training_id": training}))).await;
            assert_eq!((borrowed.status, fields(&borrowed.json)), (422, vec!["user_id", "training_id"]));
            let parent = call(&app, post(format!("{b}/levels"), json!({"name": "Team", "parent_id": level}))).await;
            assert_eq!((parent.status, fields(&parent.json)), (422, vec!["parent_id"]));
            let member = call(&app, post(format!("{b}/users"), json!({"name": "Ada", "email": "ada@example.com", "level_id": level}))).await;
            assert_eq!((member.status, fields(&member.json)), (422, vec!["level_id"]), "the same email is free in another area, the level is not");
            let session = call(&app, post(format!("{b}/live-sessions"), json!({
                "training_id": training, "title": "Q&A", "starts_at": "2026-03-10T09:00:00Z", "ends_at": "2026-03-10T10:00:00Z"
            }))).await;
            assert_eq!((session.status, fields(&session.json)), (422, vec!["training_id"]));
            let attend = call(&app, admin(PUT, &format!("{b}/live-sessions/{live}/attendees/{user}"), &s, Some(json!({"attendance": "attended"})))).await;
            assert_eq!(attend.status, 404);
        });
    }

    fn progress_to_100_completes_the_registration_once(url: &str) {
        let h = Harness::new(url);
        run(async {
            let app = h.app().await;
            let s = login(&app, "admin@example.com").await;
            let a = format!("/admin/v1/learning-areas/{}", h.area.get());
            let post = |path: String, body: Value| admin(POST, &path, &s, Some(body));
            let user = call(&app, post(format!("{a}/users"), json!({"name": "Ada", "email": "ada@example.com"}))).await.json["id"].as_i64().unwrap();
            let training = call(&app, post(format!("{a}/trainings"), json!({"title": "Safety"}))).await.json["id"].as_i64().unwrap();
            let id = call(&app, post(format!("{a}/registrations"), json!({"user_id": user, "training_id": training}))).await.json["id"].as_i64().unwrap();
            let progress = format!("{a}/registrations/{id}/progress");

            h.clock.advance(Duration::hours(1));
            let halfway = call(&app, post(progress.clone(), json!({"progress": 40}))).await;
            assert_eq!(halfway.status, 200, "{}", halfway.json);
            assert_eq!((&halfway.json["status"], &halfway.json["completed_at"]), (&json!("in_progress"), &Value::Null));

            h.clock.advance(Duration::hours(1));
            let done = call(&app, post(progress.clone(), json!({"progress": 100, "score": 87}))).await;
            assert_eq!(done.status, 200, "{}", done.json);
            assert_eq!(done.json["status"], "completed");
            assert_eq!(done.json["completed_at"], "2026-03-01T14:00:00Z");
            assert_eq!(done.json["score"], 87);

            h.clock.advance(Duration::hours(1));
            let rescored = call(&app, post(progress.clone(), json!({"progress": 100}))).await;
            assert_eq!((&rescored.json["completed_at"], &rescored.json["score"]), (&json!("2026-03-01T14:00:00Z"), &json!(87)), "kept");
            let completed = call(&app, admin(GET, &format!("{a}/registrations?status=completed"), &s, None)).await;
            assert_eq!(ids(&completed.json), [id]);

            for (body, bad) in [(json!({"progress": 101}), vec!["progress"]), (json!({"progress": -1, "score": 1000}), vec!["progress", "score"])] {
                let answer = call(&app, post(progress.clone(), body)).await;
                assert_eq!((answer.status, fields(&answer.json)), (422, bad));
            }
            assert_eq!(call(&app, post(progress.clone(), json!({"score": 10}))).await.status, 400, "progress is required");
            assert_eq!(call(&app, post(format!("{a}/registrations/999/progress"), json!({"progress": 10}))).await.status, 404);
        });
    }

    fn attendance_is_added_then_updated(url: &str) {
        let h = Harness::new(url);
        run(async {
            let app = h.app().await;
            let s = login(&app, "admin@example.com").await;
            let a = format!("/admin/v1/learning-areas/{}", h.area.get());
            let post = |path: String, body: Value| admin(POST, &path, &s, Some(body));
            let ada = call(&app, post(format!("{a}/users"), json!({"name": "Ada", "email": "ada@example.com"}))).await.json["id"].as_i64().unwrap();
            let alan = call(&app, post(format!("{a}/users"), json!({"name": "Alan", "email": "alan@example.com"}))).await.json["id"].as_i64().unwrap();
            let training = call(&app, post(format!("{a}/trainings"), json!({"title": "Safety"}))).await.json["id"].as_i64().unwrap();
            let live = call(&app, post(format!("{a}/live-sessions"), json!({
                "training_id": training, "title": "Q&A", "starts_at": "2026-03-10T09:00:00Z", "ends_at": "2026-03-10T10:00:00Z"
            }))).await.json["id"].as_i64().unwrap();
            let put = |user: i64, attendance: &str| admin(PUT, &format!("{a}/live-sessions/{live}/attendees/{user}"), &s, Some(json!({"attendance": attendance})));

            let first = call(&app, put(ada, "registered")).await;
            assert_eq!(first.status, 200, "{}", first.json);
            assert_eq!(first.json["attendees"], json!([{"user_id": ada, "attendance": "registered"}]));
            call(&app, put(alan, "registered")).await;
            let updated = call(&app, put(ada, "attended")).await;
            assert_eq!(updated.status, 200);
            let detailed = call(&app, admin(GET, &format!("{a}/live-sessions/{live}"), &s, None)).await;
            assert_eq!(detailed.json["attendees"], updated.json["attendees"]);
            let mut attendees: Vec<(i64, String)> = detailed.json["attendees"].as_array().unwrap().iter()
                .map(|x| (x["user_id"].as_i64().unwrap(), x["attendance"].as_str().unwrap().to_owned()))
                .collect();
            attendees.sort();
            assert_eq!(attendees, [(ada, "attended".to_owned()), (alan, "registered".to_owned())], "one row per user, updated in place");

            let maybe = call(&app, put(ada, "maybe")).await;
            assert_eq!((maybe.status, fields(&maybe.json)), (422, vec!["attendance"]));
            let stranger = call(&app, put(999, "attended")).await;
            assert_eq!((stranger.status, fields(&stranger.json)), (422, vec!["user_id"]));
            let no_session = admin(PUT, &format!("{a}/live-sessions/999/attendees/{ada}"), &s, Some(json!({"attendance": "absent"})));
            assert_eq!(call(&app, no_session).await.status, 404);
            assert_eq!(call(&app, admin(GET, &format!("{a}/live-sessions/999"), &s, None)).await.status, 404);
        });
    }
}
