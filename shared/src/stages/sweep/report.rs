//! What a sweep found and did, for the audit, `loadout sweep` and the benchmark.

use crate::domain::{AppId, UserId};
use crate::inventory::RefreshReport;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One way UEM differed from what Loadout expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftKind {
    /// A member of a Loadout group disappeared since Loadout last read or wrote it.
    MemberRemoved,
    /// A member appeared in a Loadout group that Loadout did not put there.
    MemberAdded,
    /// A member of a Loadout group who is not a person Loadout knows.
    UnknownMember,
    /// A Loadout group is gone from UEM.
    GroupDeleted,
    /// A Loadout group is no longer assigned to its app, or differently.
    AssignmentChanged,
    /// An app with Loadout groups is no longer in the catalog.
    AppLeftCatalog,
    /// A matched person's enrollment user is gone from UEM.
    UserGoneFromUem,
}

impl DriftKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DriftKind::MemberRemoved => "member removed by hand",
            DriftKind::MemberAdded => "member added by hand",
            DriftKind::UnknownMember => "member unknown to Loadout",
            DriftKind::GroupDeleted => "group deleted",
            DriftKind::AssignmentChanged => "assignment deleted or changed",
            DriftKind::AppLeftCatalog => "app left the catalog",
            DriftKind::UserGoneFromUem => "user gone from UEM",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Drift {
    pub kind: DriftKind,
    pub app_id: Option<AppId>,
    pub group: Option<String>,
    pub user_id: Option<UserId>,
    pub uem_user_id: Option<i64>,
    /// What Loadout does about it.
    pub repair: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SweepReport {
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub dry_run: bool,
    pub groups_read: usize,
    pub apps_checked: usize,
    pub drift: Vec<Drift>,
    /// Users queued for a new decision, and why (counts per reason).
    pub reevaluated: usize,
    pub reevaluation_reasons: std::collections::BTreeMap<String, usize>,
    pub parked: usize,
    pub unparked: usize,
    pub assignments_repaired: usize,
    pub flushed_apps: usize,
    pub inventory_users: Option<RefreshReport>,
    pub inventory_devices: Option<RefreshReport>,
    /// HTTP requests the sweep sent to UEM.
    pub uem_calls: Option<u64>,
    /// Apps that left the catalog whose removal waits for `--confirm-catalog-removals`.
    pub removals_awaiting_confirmation: Vec<AppId>,
    /// The relevance model's suggestions, when this sweep refreshed them.
    #[serde(default)]
    pub suggestions: Option<crate::stages::suggestions::SuggestReport>,
    /// Apps whose own automation setting passed its review date since the last sweep: gated
    /// again until an admin renews the setting.
    #[serde(default)]
    pub automation_lapsed: Vec<super::automation_review::LapsedAutomation>,
    /// Approval requests that waited 14 days without a decision and expired now.
    #[serde(default)]
    pub approvals_expired: usize,
    /// Approved requests whose app UEM now reports installed on the device.
    #[serde(default)]
    pub approvals_installed: usize,
    /// Users decided under an older policy version: how many, the cohorts and evaluations it
    /// took to find those whose apps change (the rest are not decided again).
    #[serde(default)]
    pub policy_change: super::PolicyChangeReport,
}

impl SweepReport {
    pub fn count(&self, kind: DriftKind) -> usize {
        self.drift.iter().filter(|d| d.kind == kind).count()
    }
}
