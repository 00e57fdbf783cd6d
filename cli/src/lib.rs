//! The `loadout` command: local mode (every function in one process), the demo, and admin tools.
//! Kept as a library so end-to-end tests drive exactly what the command runs.

pub mod advise_cmd;
pub mod approvals_cmd;
pub mod breaker_cmd;
pub mod demo;
pub mod demo_approvals;
pub mod demo_reclaim;
pub mod dlq_cmd;
pub mod hris_sender;
pub mod inspect;
pub mod local;
pub mod model_cmd;
pub mod output;
pub mod policy_cmd;
pub mod progress;
pub mod reclaim_cmd;
pub mod recommendations_cmd;
pub mod simulate_cmd;
pub mod status_cmd;
pub mod sweep_cmd;
pub mod target;
pub mod tenant_files;
