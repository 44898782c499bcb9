//! Wire shapes: domain types are not `Serialize`; they are converted here, by hand, so changing
//! the API never touches the rules.

use serde::Serializer;
use time::OffsetDateTime;

/// Serialises an instant as RFC 3339 UTC (`2026-03-01T12:00:00Z`).
pub fn rfc3339<S: Serializer>(at: &OffsetDateTime, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&token_core::service::rfc3339(*at))
}

/// The same for an optional instant (`null` when absent).
pub fn rfc3339_opt<S: Serializer>(at: &Option<OffsetDateTime>, serializer: S) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => rfc3339(at, serializer),
        None => serializer.serialize_none(),
    }
}

/// Parses an optional RFC 3339 instant (`2027-01-31T00:00:00Z`).
pub fn de_rfc3339_opt<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<OffsetDateTime>, D::Error> {
    use serde::Deserialize;
    let raw: Option<String> = Option::deserialize(deserializer)?;
    raw.map(|raw| {
        OffsetDateTime::parse(&raw, &time::format_description::well_known::Rfc3339)
            .map_err(|_| serde::de::Error::custom("expected an RFC 3339 time such as 2027-01-31T00:00:00Z"))
    })
    .transpose()
}
