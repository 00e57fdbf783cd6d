//! `loadout explain USER [APP]`: the whole chain, app by app: the rules (ids and reasons) and the
//! person's attributes they read, the model's or adviser's evidence, the gate and why, the
//! recommendation and ServiceNow approval, the UEM action, what UEM holds for the user in
//! Loadout's groups (where that observation came from and how old it is), the difference, and the
//! ids of the audit records behind each step.

use crate::approvals::{ApprovalRecord, store as approval_store};
use crate::domain::{AppId, AuditKind, AuditRecord, Decision, PushMode, Reason, UserId};
use crate::keys;
use crate::ports::{AuditLog, AuditQuery, StateStore, StateStoreExt};
use crate::stages::StageError;
use crate::stages::directory;
use crate::stages::identity::{self, IdentityRecord, ParkedRecord};
use crate::stages::intent::{self, Inflight};
use crate::stages::observed::{self, HeldApp, Observation};
use crate::stages::recommendations::{self, Recommendation};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// How many audit record ids an app line carries (the newest); `--app` shows the whole trail.
const AUDIT_IDS_PER_APP: usize = 12;

/// Where one app stands for the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    /// Desired, and UEM holds it as desired.
    InUem,
    /// Desired, and an action to get it there is on its way.
    OnItsWay,
    /// Desired, but UEM does not hold it (held by a gate, parked, or drift the next pass repairs).
    Missing,
    /// UEM holds it through a Loadout group, but it is not desired (a removal is due).
    NotDesired,
    /// Denied by a guardrail, and UEM does not hold it.
    Denied,
}

impl Standing {
    pub fn describe(self) -> &'static str {
        match self {
            Standing::InUem => "in UEM",
            Standing::OnItsWay => "on its way to UEM",
            Standing::Missing => "desired, not in UEM",
            Standing::NotDesired => "in UEM, no longer desired",
            Standing::Denied => "denied",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppLine {
    pub app_id: AppId,
    pub desired: Option<PushMode>,
    pub rules: Vec<String>,
    /// The rules' reasons as they read ("Sales in Austin get Salesforce").
    #[serde(default)]
    pub reasons: Vec<Reason>,
    /// What the gates last said about this app's action ("runs now", "awaits approval (...)").
    #[serde(default)]
    pub gate: Option<String>,
    /// Recommendations for this app (either direction): gate, state, who decided, the model's
    /// evidence.
    #[serde(default)]
    pub recommendations: Vec<Recommendation>,
    /// The last verdict on this app's action: an admin's approval or rejection, or ServiceNow's.
    #[serde(default)]
    pub verdict: Option<String>,
    /// ServiceNow approval requests (one per device).
    #[serde(default)]
    pub approvals: Vec<ApprovalRecord>,
    /// The last thing the executor did in UEM for this app (applied, failed, given up).
    #[serde(default)]
    pub uem_action: Option<String>,
    pub observed: Option<HeldApp>,
    pub in_flight: Option<Inflight>,
    pub standing: Standing,
    /// The newest audit record ids about this user and app, oldest first.
    #[serde(default)]
    pub audit_ids: Vec<String>,
}

/// The observation an explanation rests on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObservationView {
    /// False before the first complete sweep (and no write of Loadout's) saw the user.
    pub known: bool,
    pub updated_at: Option<DateTime<Utc>>,
    pub last_sweep: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    pub user: UserId,
    pub decision: Option<Decision>,
    pub identity: Option<IdentityRecord>,
    pub parked: Option<ParkedRecord>,
    /// The person's attributes that policies read (department, title, location, ...), as the
    /// directory last said.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    pub observation: ObservationView,
    pub apps: Vec<AppLine>,
    /// The audit trail of the one app asked about (empty without one).
    pub trail: Vec<AuditRecord>,
    pub explained_at: DateTime<Utc>,
}

impl Explanation {
    pub fn line(&self, app: &AppId) -> Option<&AppLine> {
        self.apps.iter().find(|l| &l.app_id == app)
    }
}

pub async fn explain(
    store: &dyn StateStore,
    audit: &dyn AuditLog,
    user: &UserId,
    app: Option<&AppId>,
    now: DateTime<Utc>,
) -> Result<Explanation, StageError> {
    let (pk, sk) = keys::latest_decision(user);
    let decision: Option<Decision> = store.get_as(&pk, &sk).await?.map(|(d, _)| d);
    let observation = observed::observe(store, user).await?;
    let meta = observed::meta(store).await?;
    let (intent, _) = intent::load(store, user).await?;
    let held = observation.known().cloned().unwrap_or_default();
    let recs = recommendations::of_user(store, user).await?;
    let user_trail = audit.query(&AuditQuery::user(user)).await?;
    let mut apps: BTreeSet<AppId> = held.apps.keys().cloned().collect();
    apps.extend(intent.inflight.keys().cloned());
    apps.extend(recs.iter().map(|(r, _)| r.action.app_id.clone()));
    if let Some(d) = &decision {
        apps.extend(d.desired.iter().map(|e| e.app_id.clone()));
        apps.extend(d.denied.iter().map(|e| e.app_id.clone()));
    }
    if let Some(app) = app {
        apps.retain(|a| a == app);
        apps.insert(app.clone());
    }
    let mut lines = Vec::new();
    for app_id in apps {
        let entitlement = decision.as_ref().and_then(|d| d.entitlement(&app_id));
        let denial = decision
            .as_ref()
            .and_then(|d| d.denied.iter().find(|x| x.app_id == app_id));
        let observed = held.apps.get(&app_id).cloned();
        let in_flight = intent.inflight.get(&app_id).cloned();
        let standing = match (entitlement, &observed, &in_flight) {
            (Some(e), Some(o), _) if o.push_mode == e.push_mode => Standing::InUem,
            (Some(_), _, Some(_)) => Standing::OnItsWay,
            (Some(_), _, None) => Standing::Missing,
            (None, Some(_), _) => Standing::NotDesired,
            (None, None, _) if denial.is_some() => Standing::Denied,
            (None, None, _) => Standing::Missing,
        };
        let reasons: Vec<Reason> = entitlement
            .map(|e| e.reasons.clone())
            .or_else(|| denial.map(|d| d.reasons.clone()))
            .unwrap_or_default();
        let app_trail: Vec<&AuditRecord> = user_trail
            .iter()
            .filter(|r| r.app_id.as_ref() == Some(&app_id))
            .collect();
        let last_of = |kinds: &[AuditKind]| {
            app_trail
                .iter()
                .rev()
                .find(|r| kinds.contains(&r.kind))
                .map(|r| format!("{} ({})", r.summary, r.record_id))
        };
        let app_recs: Vec<Recommendation> = recs
            .iter()
            .filter(|(r, _)| r.action.app_id == app_id)
            .map(|(r, _)| r.clone())
            .collect();
        let approvals = approval_store::of_user_app(store, user, &app_id).await?;
        let skip = app_trail.len().saturating_sub(AUDIT_IDS_PER_APP);
        lines.push(AppLine {
            desired: entitlement.map(|e| e.push_mode),
            rules: reasons.iter().map(|r| r.rule_id.clone()).collect(),
            reasons,
            gate: last_of(&[AuditKind::ActionPlanned, AuditKind::BreakerTripped]),
            recommendations: app_recs,
            verdict: last_of(&[AuditKind::AdminDecision, AuditKind::ApprovalDecided]),
            approvals,
            uem_action: last_of(&[
                AuditKind::ActionApplied,
                AuditKind::ActionFailed,
                AuditKind::ActionGivenUp,
                AuditKind::DeadLettered,
            ]),
            observed,
            in_flight,
            standing,
            audit_ids: app_trail
                .iter()
                .skip(skip)
                .map(|r| r.record_id.clone())
                .collect(),
            app_id,
        });
    }
    let trail = match app {
        Some(app) => user_trail
            .into_iter()
            .filter(|r| r.app_id.as_ref() == Some(app) || r.app_id.is_none())
            .collect(),
        None => Vec::new(),
    };
    let attributes = directory::load_profile(store, user)
        .await?
        .map(|p| policy_attributes(&p.employee))
        .unwrap_or_default();
    Ok(Explanation {
        user: user.clone(),
        decision,
        identity: identity::known(store, user).await?,
        parked: identity::parked(store, user).await?,
        attributes,
        observation: ObservationView {
            known: matches!(observation, Observation::Known(_)),
            updated_at: held.updated_at,
            last_sweep: meta.map(|m| m.complete_at),
        },
        apps: lines,
        trail,
        explained_at: now,
    })
}

/// The attributes policies read, never contact data (the e-mail stays out of explanations).
fn policy_attributes(e: &crate::domain::Employee) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (name, value) in [
        ("department", e.department.clone()),
        ("title", e.title.clone()),
        ("location", e.location.clone()),
        ("region", e.region.clone()),
        ("employment_type", e.employment_type.clone()),
        (
            "manager_id",
            e.manager_id
                .as_ref()
                .map(|m| m.to_string())
                .unwrap_or_default(),
        ),
        ("groups", e.groups.join(", ")),
    ] {
        if !value.is_empty() {
            out.insert(name.to_owned(), value);
        }
    }
    out
}
