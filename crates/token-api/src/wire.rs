//! Wire shapes: domain types are not `Serialize`; they are converted here, by hand, so changing
//! the API never touches the rules.

use serde::Serializer;
use time::OffsetDateTime;

/// Serialises an instant as RFC 3339 UTC (`2026-03-01T12:00:00Z`).
pub fn rfc3339<S: Serializer>(at: &OffsetDateTime, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&token_core::service::rfc3339(*at))
}
