//! Loadout: decides which apps every user's Workspace ONE UEM devices should have, and makes UEM
//! match. See ARCHITECTURE.md at the repository root for the map.

pub mod adapters;
pub mod config;
pub mod domain;
pub mod governance;
pub mod keys;
#[cfg(feature = "lambda")]
pub mod lambda;
pub mod outbound;
pub mod policy;
pub mod ports;
pub mod reconcile;
pub mod sources;
pub mod stages;
pub mod token_bucket;
pub mod uem;
pub mod webhook;
