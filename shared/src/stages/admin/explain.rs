//! `loadout explain USER [APP]`: the decision (desired apps with the rules behind them), what UEM
//! holds for the user in Loadout's groups (and where that observation came from and how old it
//! is), what is on its way, and the difference, app by app.

use crate::domain::{AppId, AuditRecord, Decision, PushMode, UserId};
use crate::keys;
use crate::ports::{AuditLog, AuditQuery, StateStore, StateStoreExt};
use crate::stages::StageError;
use crate::stages::identity::{self, IdentityRecord, ParkedRecord};
use crate::stages::intent::{self, Inflight};
use crate::stages::observed::{self, HeldApp, Observation};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

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
    pub observed: Option<HeldApp>,
    pub in_flight: Option<Inflight>,
    pub standing: Standing,
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
    let mut apps: BTreeSet<AppId> = held.apps.keys().cloned().collect();
    apps.extend(intent.inflight.keys().cloned());
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
        let rules = entitlement
            .map(|e| e.reasons.iter().map(|r| r.rule_id.clone()).collect())
            .or_else(|| denial.map(|d| d.reasons.iter().map(|r| r.rule_id.clone()).collect()))
            .unwrap_or_default();
        lines.push(AppLine {
            app_id,
            desired: entitlement.map(|e| e.push_mode),
            rules,
            observed,
            in_flight,
            standing,
        });
    }
    let trail = match app {
        Some(app) => audit
            .query(&AuditQuery::user(user))
            .await?
            .into_iter()
            .filter(|r| r.app_id.as_ref() == Some(app) || r.app_id.is_none())
            .collect(),
        None => Vec::new(),
    };
    Ok(Explanation {
        user: user.clone(),
        decision,
        identity: identity::known(store, user).await?,
        parked: identity::parked(store, user).await?,
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
