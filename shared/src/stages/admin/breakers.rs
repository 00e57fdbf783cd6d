//! `loadout breaker list|release` and `loadout kill-switch on|off`: the two stops of the
//! governance layer and the way back from them.
//!
//! Releasing a breaker restarts its count and re-evaluates the people whose change it held, so
//! up to the limit of them go through and a still-running mass change trips it again: that is
//! the point. To let a reviewed mass change through whole, approve its recommendations
//! (`loadout recommendations approve --all-matching app=X,kind=remove`). Turning the kill switch
//! off re-evaluates everyone it held.

use crate::domain::{ActionKind, AppId, AuditKind, AuditRecord, CorrelationId, UserId};
use crate::governance::{Gate, KILL_SWITCH_REASON};
use crate::stages::breaker::{self, KillSwitch};
use crate::stages::recommendations::{self, Recommendation, State};
use crate::stages::{Services, StageError, resync};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeSet;

/// One tripped breaker.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrippedBreaker {
    pub app_id: AppId,
    pub kind: ActionKind,
    pub tripped_at: DateTime<Utc>,
    pub reason: String,
    /// Changes it holds (open recommendations of the app in that direction awaiting approval).
    pub held: usize,
}

pub async fn list(services: &Services) -> Result<Vec<TrippedBreaker>, StageError> {
    let store = services.store.as_ref();
    let recs = recommendations::all(store).await?;
    Ok(breaker::tripped(store)
        .await?
        .into_iter()
        .map(|((app_id, kind), t)| {
            let held = held_by(&recs, &app_id, kind).count();
            TrippedBreaker {
                app_id,
                kind,
                tripped_at: t.at,
                reason: t.reason,
                held,
            }
        })
        .collect())
}

fn held_by<'a>(
    recs: &'a [Recommendation],
    app: &'a AppId,
    kind: ActionKind,
) -> impl Iterator<Item = &'a Recommendation> {
    recs.iter().filter(move |r| {
        r.state == State::Open
            && &r.action.app_id == app
            && r.action.kind == kind
            && matches!(r.gate, Gate::AwaitApproval { .. })
    })
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Released {
    pub released: Vec<ActionKind>,
    /// People re-evaluated because the breaker held their change.
    pub reevaluated: usize,
    pub correlation_id: Option<CorrelationId>,
}

/// Releases the app's tripped breakers (one direction, or both).
pub async fn release(
    services: &Services,
    app: &AppId,
    kind: Option<ActionKind>,
    by: &str,
) -> Result<Released, StageError> {
    let store = services.store.as_ref();
    let kinds = match kind {
        Some(k) => vec![k],
        None => vec![ActionKind::Assign, ActionKind::Remove],
    };
    let recs = recommendations::all(store).await?;
    let correlation = CorrelationId::generate();
    let now = services.clock.now();
    let mut out = Released::default();
    let mut people: BTreeSet<UserId> = BTreeSet::new();
    for kind in kinds {
        if !breaker::release(store, app, kind).await? {
            continue;
        }
        out.released.push(kind);
        people.extend(held_by(&recs, app, kind).map(|r| r.action.user_id.clone()));
        services
            .audit(
                AuditRecord::new(
                    now,
                    correlation.clone(),
                    AuditKind::AdminDecision,
                    "admin",
                    format!("{by} released the breaker of {app} ({})", kind.as_str()),
                )
                .app(app)
                .detail(json!({"breaker": kind.as_str(), "by": by})),
            )
            .await?;
    }
    if !people.is_empty() {
        let people: Vec<UserId> = people.into_iter().collect();
        out.reevaluated = people.len();
        resync::enqueue_under(
            services,
            &people,
            &format!("breaker of {app} released by {by}"),
            &correlation,
        )
        .await?;
    }
    if !out.released.is_empty() {
        out.correlation_id = Some(correlation);
    }
    Ok(out)
}

#[derive(Debug, Clone, Serialize)]
pub struct Switched {
    pub on: bool,
    /// People re-evaluated because the switch held their changes (turning it off).
    pub reevaluated: usize,
}

/// Turns the kill switch on (nothing executes; the executor stops writing) or off (everyone it
/// held is decided again).
pub async fn kill_switch(
    services: &Services,
    on: bool,
    by: &str,
    reason: Option<&str>,
) -> Result<Switched, StageError> {
    let store = services.store.as_ref();
    let now = services.clock.now();
    breaker::set_kill_switch(
        store,
        &KillSwitch {
            on,
            by: by.to_owned(),
            at: now,
            reason: reason.map(str::to_owned),
        },
    )
    .await?;
    let correlation = CorrelationId::generate();
    services
        .audit(
            AuditRecord::new(
                now,
                correlation.clone(),
                AuditKind::AdminDecision,
                "admin",
                format!(
                    "{by} turned the kill switch {}{}",
                    if on { "on" } else { "off" },
                    reason.map(|r| format!(": {r}")).unwrap_or_default()
                ),
            )
            .detail(json!({"kill_switch": on, "by": by})),
        )
        .await?;
    let mut reevaluated = 0;
    if !on {
        let people: BTreeSet<UserId> = recommendations::all(store)
            .await?
            .into_iter()
            .filter(|r| r.state == State::Open && r.gate.reason() == Some(KILL_SWITCH_REASON))
            .map(|r| r.action.user_id)
            .collect();
        if !people.is_empty() {
            let people: Vec<UserId> = people.into_iter().collect();
            reevaluated = people.len();
            resync::enqueue_under(
                services,
                &people,
                &format!("kill switch turned off by {by}"),
                &correlation,
            )
            .await?;
        }
    }
    Ok(Switched { on, reevaluated })
}
