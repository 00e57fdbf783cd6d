//! Workspace ONE UEM: the port the stages use (`UemApi`) and the REST client that implements it.
//!
//! - `port`: the trait and its types (the contract the executor and the enricher use).
//! - `config`: base URL, token URL, credentials, limits.
//! - `client`: auth (cached OAuth token or Basic + tenant code), the shared rate limit, retries,
//!   versioned Accept headers, error mapping, paging.
//! - `api`: the `UemApi` operations; `groups` (creating Loadout's smart groups) and
//!   `assignments` (v2 assignment rules, read-modify-write) hold the parts that change UEM.
//! - `rate_limit`: the per-tenant token bucket in the state store.
//! - `wire`: defensive parsing of UEM's JSON and conversion to domain devices.

mod api;
mod assignments;
mod client;
mod config;
mod groups;
pub mod port;
mod rate_limit;
mod wire;

pub use api::CACHE_PK;
pub(crate) use client::retry_after;
pub use client::{Answer, Call, CredentialSource, Replay, UemClient};
pub use config::{UemAuth, UemConfig};
pub use port::{
    Assignment, AssignmentSpec, EnrolledDevice, GroupMember, InstalledApp, Page, SmartGroup,
    SmartGroupRef, UemApi, UemApp, UemError, UemUser, UserLookup,
};
pub use rate_limit::{InitialFill, RATE_PK, RateLimiter};
