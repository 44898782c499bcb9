//! `cargo xtask test`: builds the binary the end-to-end tests drive, runs every test in the
//! workspace (tidy checks included), then the doctests.

use std::process::ExitCode;

use crate::shell;

const POSTGRES_URL_VAR: &str = "TOKEND_TEST_POSTGRES_URL";
const REQUIRE_POSTGRES_VAR: &str = "TOKEND_REQUIRE_POSTGRES";

pub fn run(extra_args: &[String]) -> ExitCode {
    // Check before building: a missing server should not cost a build to discover.
    if let Err(message) = announce_postgres() {
        eprintln!("error: {message}");
        return ExitCode::FAILURE;
    }

    // The end-to-end tests in tests/ spawn target/debug/tokend, which `cargo test` of the test
    // crate does not build by itself.
    if let Err(message) = shell::run(shell::cargo(["build", "-p", "tokend"])) {
        eprintln!("error: {message}");
        return ExitCode::FAILURE;
    }

    // From here every step runs even when an earlier one failed, so one run reports everything.
    let mut failures = Vec::new();
    let runner: &[&str] = if shell::succeeds(shell::cargo(["nextest", "--version"])) {
        &["nextest", "run", "--workspace", "--no-fail-fast"]
    } else {
        eprintln!("note: cargo-nextest is not installed; using `cargo test`");
        &["test", "--workspace", "--no-fail-fast"]
    };
    let mut tests = shell::cargo(runner);
    tests.args(extra_args);
    failures.extend(shell::run(tests).err());
    // nextest does not run doctests.
    failures.extend(shell::run(shell::cargo(["test", "--workspace", "--doc"])).err());

    if failures.is_empty() {
        return ExitCode::SUCCESS;
    }
    for failure in &failures {
        eprintln!("error: {failure}");
    }
    ExitCode::FAILURE
}

/// Says which PostgreSQL server the store tests use, or fails when one is required and missing.
fn announce_postgres() -> Result<(), String> {
    let required = std::env::var(REQUIRE_POSTGRES_VAR).is_ok_and(|v| v == "1");
    match std::env::var(POSTGRES_URL_VAR) {
        Ok(url) => {
            eprintln!("PostgreSQL tests run against {}", mask_password(&url));
            Ok(())
        }
        Err(_) if required => Err(format!(
            "{REQUIRE_POSTGRES_VAR}=1 but {POSTGRES_URL_VAR} is not set: PostgreSQL tests may not be skipped \
             (set it, e.g. {POSTGRES_URL_VAR}=postgres://postgres@127.0.0.1:5432/test)"
        )),
        Err(_) => {
            eprintln!("note: {POSTGRES_URL_VAR} is not set: the PostgreSQL half of each store test is skipped");
            Ok(())
        }
    }
}

/// The URL with any password replaced by `***`, whether it sits in the user info
/// (`postgres://user:secret@host/db`), in a `password=` query parameter, or in a libpq
/// keyword string (`host=db password=secret`).
fn mask_password(url: &str) -> String {
    if !url.contains("://") {
        let words: Vec<String> = url.split_whitespace().map(mask_password_parameter).collect();
        return words.join(" ");
    }
    let (before_query, query) = match url.split_once('?') {
        Some((head, query)) => (head, Some(query)),
        None => (url, None),
    };
    let mut masked = match before_query.split_once("://") {
        Some((scheme, rest)) => {
            let authority_end = rest.find('/').unwrap_or(rest.len());
            let (authority, path) = rest.split_at(authority_end);
            match authority.rsplit_once('@') {
                Some((user_info, host)) => match user_info.split_once(':') {
                    Some((user, _password)) => format!("{scheme}://{user}:***@{host}{path}"),
                    None => before_query.to_owned(),
                },
                None => before_query.to_owned(),
            }
        }
        None => before_query.to_owned(),
    };
    if let Some(query) = query {
        let parameters: Vec<String> = query.split('&').map(mask_password_parameter).collect();
        masked.push('?');
        masked.push_str(&parameters.join("&"));
    }
    masked
}

/// `password=secret` becomes `password=***`; any other `key=value` is kept.
fn mask_password_parameter(parameter: &str) -> String {
    match parameter.split_once('=') {
        Some((key, _value)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
        _ => parameter.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::mask_password;

    fn check(url: &str, expected: &str) {
        assert_eq!(mask_password(url), expected, "masking {url}");
    }

    #[test]
    fn masks_passwords_and_nothing_else() {
        check("postgres://postgres@127.0.0.1:5432/test", "postgres://postgres@127.0.0.1:5432/test");
        check("postgres://user:s3cret@db:5432/test", "postgres://user:***@db:5432/test");
        check("postgres://user:p@ss@db/test", "postgres://user:***@db/test");
        check("postgres://user:secret@db", "postgres://user:***@db");
        check(
            "postgres://db/test?user=u&password=secret&sslmode=off",
            "postgres://db/test?user=u&password=***&sslmode=off",
        );
        check("postgresql://u:pw@db/test?password=x", "postgresql://u:***@db/test?password=***");
        check("host=db user=u", "host=db user=u");
        check("host=db user=u password=secret", "host=db user=u password=***");
    }
}
