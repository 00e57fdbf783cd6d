//! Loadout: decides which apps every user's Workspace ONE UEM devices should have, and makes UEM
//! match. See ARCHITECTURE.md at the repository root for the map.

pub mod adapters;
pub mod domain;
pub mod ports;
pub mod uem;
