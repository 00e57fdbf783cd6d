//! What a reclamation run did (or, dry, would do), per app.

use super::select::Passed;
use crate::domain::{AppId, UserId};
use chrono::{DateTime, Utc};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoticeSent {
    pub user: UserId,
    pub days_before: u32,
    /// `delivered`, `audited` (no channel configured), `dropped`, or `due` in a dry run.
    pub delivery: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeldRemoval {
    pub user: UserId,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AppOutcome {
    pub app: AppId,
    pub holders: usize,
    pub used: usize,
    pub unused: usize,
    pub not_enough_history: usize,
    pub source_stale: usize,
    /// Why reclamation stopped for this app (a stale source, too little history).
    pub stopped: Option<String>,
    pub new_candidates: Vec<UserId>,
    pub notices: Vec<NoticeSent>,
    pub reclaimed: Vec<UserId>,
    /// Removals waiting at a gate (approval, the breaker, the review window).
    pub held: Vec<HeldRemoval>,
    pub kept: Vec<UserId>,
    pub used_again: Vec<UserId>,
    pub left: Vec<UserId>,
    /// Users who got a freed seat from the waitlist.
    pub granted: Vec<UserId>,
    pub passed: Passed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceRefresh {
    pub source: String,
    pub ok: bool,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunReport {
    pub at: DateTime<Utc>,
    pub dry_run: bool,
    /// False when the run stopped at its deadline; the next run continues where it stopped.
    pub complete: bool,
    pub sources: Vec<SourceRefresh>,
    pub apps: Vec<AppOutcome>,
    /// Where the run's time went (wall clock, in order): for the benchmark and the logs, not
    /// for the report an admin reads.
    #[serde(skip)]
    pub phases: Vec<(&'static str, std::time::Duration)>,
}

impl RunReport {
    pub fn reclaimed(&self) -> usize {
        self.apps.iter().map(|a| a.reclaimed.len()).sum()
    }

    pub fn notices(&self) -> usize {
        self.apps.iter().map(|a| a.notices.len()).sum()
    }
}
