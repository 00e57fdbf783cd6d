//! The `loadout` command: local mode (every function in one process), the demo, and admin tools.
//! Kept as a library so end-to-end tests drive exactly what the command runs.

pub mod advise_cmd;
pub mod approvals_cmd;
pub mod demo;
pub mod hris_sender;
pub mod inspect;
pub mod local;
pub mod output;
pub mod policy_cmd;
