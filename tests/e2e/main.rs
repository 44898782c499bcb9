//! End to end through the real binary: the command line and `tokend serve`, on SQLite and on
//! PostgreSQL.

#![allow(clippy::unwrap_used, reason = "tests: a panic is the failure report")]

use oauth2::basic::BasicClient;
use oauth2::{AuthType, ClientId, ClientSecret, TokenResponse, TokenUrl};
use tokend_e2e::{Server, field, http, tokend};

fn ok(out: tokend_e2e::Output) -> String {
    assert!(out.success, "tokend failed:\nstdout: {}\nstderr: {}", out.stdout, out.stderr);
    out.stdout
}

/// Creates a learning area and a token through the CLI; returns (token id, client id, secret).
fn area_and_token(url: &str) -> (String, String, String) {
    let area = ok(tokend(url, &["area", "create", "Sales"], ""));
    assert!(area.contains("created learning area 1: Sales"), "{area}");
    let created = ok(tokend(url, &["token", "create", "--area", "1", "--name", "Zapier - Sales"], ""));
    let id = created.split_whitespace().nth(3).unwrap_or_default().trim_end_matches(':').to_owned();
    (id, field(&created, "client ID:"), field(&created, "client secret:"))
}

fn list_row(url: &str, id: &str) -> Vec<String> {
    let list = ok(tokend(url, &["token", "list"], ""));
    let row =
        list.lines().find(|l| l.split('\t').next() == Some(id)).unwrap_or_else(|| panic!("token {id} not in:\n{list}"));
    row.split('\t').map(str::to_owned).collect()
}

fn exchange(server: &Server, client_id: &str, secret: &str, auth: AuthType) -> Result<String, String> {
    let client = BasicClient::new(ClientId::new(client_id.to_owned()))
        .set_client_secret(ClientSecret::new(secret.to_owned()))
        .set_auth_type(auth)
        .set_token_uri(TokenUrl::new(server.url("/oauth/token")).map_err(|e| e.to_string())?);
    let http = oauth2::reqwest::blocking::ClientBuilder::new()
        .redirect(oauth2::reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.to_string())?;
    let token = client.exchange_client_credentials().request(&http).map_err(|e| format!("{e:?}"))?;
    assert_eq!(token.token_type().as_ref(), "bearer");
    assert!(token.refresh_token().is_none(), "client credentials get no refresh token");
    Ok(token.access_token().secret().clone())
}

token_test_db::backend_tests! {
    fn the_cli_creates_lists_and_revokes_a_token(url: &str) {
        ok(tokend(url, &["migrate"], ""));
        ok(tokend(url, &["admin", "create", "--email", "ada@example.com"], "a long enough password\n"));
        let (id, client_id, secret) = area_and_token(url);
        assert!(client_id.starts_with("tkc_") && secret.starts_with("tks_"));

        let row = list_row(url, &id);
        assert_eq!(row[1], "Zapier - Sales");
        assert_eq!(row[2], client_id);
        assert_eq!(row[4], "active");
        let expires = &row[5];
        let today_plus_one_year = expires.get(..4).and_then(|y| y.parse::<i32>().ok()).unwrap_or_default();
        assert!(today_plus_one_year >= 2027, "expiry one year out: {expires}");
        let list = ok(tokend(url, &["token", "list"], ""));
        assert!(!list.contains(&secret), "the secret is never shown again");

        let revoked = ok(tokend(url, &["token", "revoke", &id], ""));
        assert!(revoked.contains("is revoked"), "{revoked}");
        assert_eq!(list_row(url, &id)[4], "revoked");
        let again = ok(tokend(url, &["token", "revoke", &id], ""));
        assert!(again.contains("is revoked"), "revoking twice is fine: {again}");
        assert_eq!(ok(tokend(url, &["token", "list", "--status", "active"], "")).lines().count(), 1, "header only");
    }

    fn creating_a_token_without_learning_areas_says_what_to_do(url: &str) {
        ok(tokend(url, &["admin", "create", "--email", "ada@example.com"], "a long enough password\n"));
        let out = tokend(url, &["token", "create", "--area", "1", "--name", "Zapier"], "");
        assert!(!out.success);
        assert!(out.stderr.contains("create a learning area first"), "{}", out.stderr);
    }

    fn a_password_is_never_taken_from_the_command_line(url: &str) {
        let out = tokend(url, &["admin", "create", "--email", "ada@example.com", "--password", "a long enough password"], "");
        assert!(!out.success, "there is no --password flag");
        let out = tokend(url, &["admin", "create", "--email", "ada@example.com"], "short\n");
        assert!(!out.success);
        assert!(out.stderr.contains("password"), "{}", out.stderr);
    }

    fn serve_starts_answers_health_and_bootstraps_an_administrator(url: &str) {
        let server = Server::start(url, &[]);
        assert!(server.banner.contains("email:    admin@localhost"), "{}", server.banner);
        let password = field(&server.banner, "password:");
        assert_eq!(password.len(), 24);
        let client = http();
        assert_eq!(client.get(server.url("/healthz")).send().unwrap().status(), 200);
        let ready = client.get(server.url("/readyz")).send().unwrap();
        assert_eq!(ready.status(), 200);
        let logs = server.stop().join("\n");
        assert!(!logs.contains(&password), "the one-time password is never logged");

        // A second start finds an account and creates none.
        let again = Server::start(url, &[]);
        assert!(!again.banner.contains("password:"), "{}", again.banner);
    }

    fn a_real_oauth2_client_gets_a_bearer_token_and_uses_it(url: &str) {
        ok(tokend(url, &["migrate"], ""));
        ok(tokend(url, &["admin", "create", "--email", "ada@example.com"], "a long enough password\n"));
        let (id, client_id, secret) = area_and_token(url);
        let server = Server::start(url, &[]);
        let client = http();

        for auth in [AuthType::BasicAuth, AuthType::RequestBody] {
            let bearer = exchange(&server, &client_id, &secret, auth).unwrap();
            assert!(bearer.starts_with("tkb_"));
            let me: serde_json::Value =
                client.get(server.url("/api/v1/me")).bearer_auth(&bearer).send().unwrap().json().unwrap();
            assert_eq!(me["learning_area"]["name"], "Sales");
            assert_eq!(me["access_token"]["client_id"], client_id.as_str());
        }

        let bearer = exchange(&server, &client_id, &secret, AuthType::BasicAuth).unwrap();
        assert!(exchange(&server, &client_id, "tks_wrong", AuthType::BasicAuth).is_err());

        // Revocation from another process (the CLI) is seen by the very next request.
        ok(tokend(url, &["token", "revoke", &id], ""));
        let after = client.get(server.url("/api/v1/me")).bearer_auth(&bearer).send().unwrap();
        assert_eq!(after.status(), 401);
        assert!(exchange(&server, &client_id, &secret, AuthType::BasicAuth).is_err());

        let logs = server.stop().join("\n");
        assert!(logs.contains("path=/oauth/token"), "requests are logged");
        assert!(!logs.contains(&secret), "no client secret in the logs");
        assert!(!logs.contains(&bearer), "no bearer token in the logs");
        assert!(!logs.contains("$argon2id$"), "no hash in the logs");
    }

    fn a_newcomer_manages_tokens_over_http_with_the_bootstrap_administrator(url: &str) {
        let server = Server::start(url, &[]);
        let password = field(&server.banner, "password:");
        let client = http();
        let session: serde_json::Value = client
            .post(server.url("/admin/v1/session"))
            .json(&serde_json::json!({"email": "admin@localhost", "password": password}))
            .send()
            .unwrap()
            .json()
            .unwrap();
        let session_token = session["token"].as_str().unwrap().to_owned();
        let admin = |method: reqwest::Method, path: &str| {
            client.request(method, server.url(path)).bearer_auth(&session_token)
        };
        let area: serde_json::Value =
            admin(reqwest::Method::POST, "/admin/v1/learning-areas").json(&serde_json::json!({"name": "Sales"})).send().unwrap().json().unwrap();
        let created = admin(reqwest::Method::POST, "/admin/v1/access-tokens")
            .json(&serde_json::json!({"learning_area_id": area["id"], "name": "Zapier - Sales"}))
            .send()
            .unwrap();
        assert_eq!(created.status(), 201);
        let created: serde_json::Value = created.json().unwrap();
        let secret = created["client_secret"].as_str().unwrap().to_owned();
        let client_id = created["client_id"].as_str().unwrap().to_owned();
        let bearer = exchange(&server, &client_id, &secret, AuthType::BasicAuth).unwrap();
        let me = client.get(server.url("/api/v1/me")).bearer_auth(&bearer).send().unwrap();
        assert_eq!(me.status(), 200);
        let id = created["id"].as_i64().unwrap();
        let revoked = admin(reqwest::Method::POST, &format!("/admin/v1/access-tokens/{id}/revoke")).send().unwrap();
        assert_eq!(revoked.status(), 200);
        assert_eq!(client.get(server.url("/api/v1/me")).bearer_auth(&bearer).send().unwrap().status(), 401);
        assert_eq!(client.get(server.url("/admin/v1/access-tokens")).bearer_auth(&bearer).send().unwrap().status(), 401);
        let audit = admin(reqwest::Method::GET, "/admin/v1/audit-events").send().unwrap().text().unwrap();
        assert!(audit.contains("access_token.revoke"));
        let openapi: serde_json::Value = client.get(server.url("/openapi.json")).send().unwrap().json().unwrap();
        assert_eq!(openapi["openapi"], "3.1.0");

        let logs = server.stop().join("\n");
        assert!(logs.contains("path=/admin/v1/access-tokens"), "requests are logged");
        for secret_value in [&password, &secret, &bearer, &session_token] {
            assert!(!logs.contains(secret_value.as_str()), "no password, secret or token in the logs");
        }
        assert!(!audit.contains(&secret) && !audit.contains(&session_token) && !audit.contains(&bearer));
    }

    fn the_demo_area_is_reachable_with_the_printed_credentials_and_nothing_else(url: &str) {
        ok(tokend(url, &["admin", "create", "--email", "ada@example.com"], "a long enough password\n"));
        ok(tokend(url, &["area", "create", "Other"], ""));
        let demo = ok(tokend(url, &["demo"], ""));
        let client_id = field(&demo, "client ID:");
        let secret = field(&demo, "client secret:");
        let server = Server::start(url, &[]);
        let client = http();
        let bearer = exchange(&server, &client_id, &secret, AuthType::BasicAuth).unwrap();
        let get = |path: &str| -> serde_json::Value {
            let answer = client.get(server.url(path)).bearer_auth(&bearer).send().unwrap();
            assert_eq!(answer.status(), 200, "{path}");
            answer.json().unwrap()
        };
        assert_eq!(get("/api/v1/me")["learning_area"]["name"], "Demo Academy");
        assert_eq!(get("/api/v1/users?limit=500")["items"].as_array().unwrap().len(), 20);
        assert_eq!(get("/api/v1/trainings")["items"].as_array().unwrap().len(), 5);
        assert_eq!(get("/api/v1/registrations?limit=500")["items"].as_array().unwrap().len(), 60);
        assert_eq!(get("/api/v1/completions?limit=500")["items"].as_array().unwrap().len(), 30);
        assert_eq!(get("/api/v1/live-sessions")["items"].as_array().unwrap().len(), 3);
        // The other learning area gets a user of its own: the demo token never sees it.
        let session: serde_json::Value = client
            .post(server.url("/admin/v1/session"))
            .json(&serde_json::json!({"email": "ada@example.com", "password": "a long enough password"}))
            .send()
            .unwrap()
            .json()
            .unwrap();
        let other_user: serde_json::Value = client
            .post(server.url("/admin/v1/learning-areas/1/users"))
            .bearer_auth(session["token"].as_str().unwrap())
            .json(&serde_json::json!({"name": "Outsider", "email": "outsider@example.com"}))
            .send()
            .unwrap()
            .json()
            .unwrap();
        let other_id = other_user["id"].as_i64().unwrap();
        let foreign = client.get(server.url(&format!("/api/v1/users/{other_id}"))).bearer_auth(&bearer).send().unwrap();
        assert_eq!(foreign.status(), 404);
        let users = get("/api/v1/users?limit=500");
        assert_eq!(users["items"].as_array().unwrap().len(), 20, "still only the demo area's users");
        assert!(!users.to_string().contains("outsider@example.com"));
        let admin = client.get(server.url("/admin/v1/learning-areas")).bearer_auth(&bearer).send().unwrap();
        assert_eq!(admin.status(), 401, "no administrative function");
    }
}
