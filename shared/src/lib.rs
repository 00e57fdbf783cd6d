//! Loadout: decides which apps every user's Workspace ONE UEM devices should have, and makes UEM
//! match. See ARCHITECTURE.md at the repository root for the map.

pub mod adapters;
pub mod advisor;
pub mod approvals;
pub mod config;
pub mod deadline;
pub mod domain;
pub mod governance;
pub mod identity;
pub mod inventory;
pub mod keys;
#[cfg(feature = "lambda")]
pub mod lambda;
pub mod notify;
pub mod outbound;
pub mod policy;
pub mod ports;
pub mod reconcile;
pub mod relevance;
pub mod retry;
pub mod servicenow;
pub mod sources;
pub mod stages;
pub mod token_bucket;
pub mod uem;
pub mod usage;
pub mod webhook;
pub mod whatif;
