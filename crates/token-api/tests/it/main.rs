//! token-api in process (`actix_web::test`), on SQLite and PostgreSQL: the OAuth2 endpoints
//! with every RFC error case, bearer validation against revocation, expiry (with a test clock)
//! and suspension.

#![allow(clippy::unwrap_used, reason = "tests: a panic is the failure report")]

mod admin;
mod admin_learning;
mod instances;
mod integration;
mod oauth;
mod support;
