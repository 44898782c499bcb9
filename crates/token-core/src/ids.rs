//! Newtypes for the ids of stored things, so an account id can never be passed where an access
//! token id is expected.

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(i64);

        impl $name {
            /// Wraps a stored id. Ids are positive; the store hands them out.
            pub const fn new(raw: i64) -> Self {
                Self(raw)
            }

            /// The raw value, for the store and the wire.
            pub const fn get(self) -> i64 {
                self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map(Self)
            }
        }
    };
}

pub(crate) use id_type;

id_type!(
    /// Identifies a learning area, the scope an access token is bound to.
    LearningAreaId
);
id_type!(
    /// Identifies an account (an administrator or a manager).
    AccountId
);
id_type!(
    /// Identifies an access token (not its OAuth2 client id, which is public and random).
    AccessTokenId
);
id_type!(
    /// Identifies an issued bearer token row.
    BearerTokenId
);
id_type!(
    /// Identifies an audit event.
    AuditEventId
);
