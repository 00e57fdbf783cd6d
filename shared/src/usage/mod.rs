//! App usage for license reclamation: where it comes from (`UsageSource` and its adapters:
//! Intelligence reports, UEM device apps, the local `usage.csv`), how a reported user becomes a
//! Loadout user (`UserMapper`), Loadout's own last-seen dates per user and app kept across reads
//! (`last_seen`), and the pure decision of whether a user still uses an app (`verdict`).
//!
//! Intelligence reports cover at most 28 days, so a 90-day threshold rests on Loadout's own
//! memory: every read merges into the last-seen dates (the later date wins) and extends the
//! span of history observed per app, which restarts after a gap. No usage is never taken to
//! mean unused unless the history observed covers the whole threshold and every source that
//! covers the app is fresh.

mod apps;
mod error;
mod file;
mod identity;
mod intelligence;
pub mod last_seen;
mod refresh;
mod source;
mod uem_apps;
pub mod verdict;

pub use apps::{AppMatcher, TrackedApp};
pub use error::UsageError;
pub use file::UsageFile;
pub use identity::{FnMapper, ProfileMatcher, UserMapper};
pub use intelligence::IntelligenceUsage;
pub use refresh::{RefreshOutcome, plan_range, refresh_usage};
pub use source::{
    Coverage, ReportedUser, Signal, UsageObservation, UsageRead, UsageRequest, UsageSource,
};
pub use uem_apps::UemDeviceApps;
pub use verdict::{
    AppStanding, FreshnessPolicy, StaleReason, UsageVerdict, app_standing, usage_verdict,
    user_verdict,
};
