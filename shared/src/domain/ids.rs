//! Typed identifiers, so that a user id can never be passed where an app id is expected.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self(value.to_owned())
            }
        }
    };
}

string_id!(
    /// The directory user id (the HR/IdP identity; UEM may know the person by another name).
    UserId
);
string_id!(
    /// A catalog app id (`slack`, `salesforce`), not UEM's numeric id.
    AppId
);
string_id!(
    /// Loadout's id for one accepted inbound event.
    EventId
);
string_id!(
    /// Links everything that one event caused: decisions, actions, audit records, rollback.
    CorrelationId
);
string_id!(
    /// One assign/remove action; derived deterministically so that re-deciding yields the same id.
    ActionId
);

impl EventId {
    pub fn generate() -> Self {
        Self(uuid::Uuid::new_v4().to_string())
    }
}

impl CorrelationId {
    pub fn generate() -> Self {
        Self(uuid::Uuid::new_v4().to_string())
    }
}
