//! A reclamation's change to UEM (the removal, and the grant of the freed seat) through the same
//! gates as any decision: the governance gate (mode, the app's own setting, pilot scope, review
//! window, kill switch, approvals), then the blast-radius breaker's count; what runs goes to the
//! executor on the FIFO `execute` queue with the user's intent moved as the decision stage moves
//! it; what does not run waits as a recommendation an admin can approve. Both are audited with
//! the reason.

use crate::domain::{
    Action, ActionKind, AuditKind, AuditRecord, CatalogApp, CorrelationId, Envelope, EventId,
    MessageKind, PushMode, Reason, UemTarget, UserId,
};
use crate::governance::{Gate, GateFacts, Governance};
use crate::keys;
use crate::ports::queue::names;
use crate::ports::{Condition, OutgoingMessage, StateStoreExt};
use crate::stages::recommendations::{self, Origin};
use crate::stages::{Services, StageError, breaker, directory, identity, intent, observed};
use chrono::{DateTime, Utc};
use serde_json::json;

/// The rule id reclamation's actions carry (their reasons say why).
pub const RECLAIM_RULE: &str = "license-reclamation";

/// What became of a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dispatched {
    /// On its way to UEM.
    Queued,
    /// Waits at a gate (the reason says which).
    Held(Gate),
    /// The user has no UEM enrollment user Loadout knows: nothing can change for them yet.
    NoTarget,
}

/// What one dispatch needs to know.
pub struct Change<'a> {
    pub app: &'a CatalogApp,
    pub user: &'a UserId,
    pub kind: ActionKind,
    pub push_mode: PushMode,
    pub correlation: CorrelationId,
    pub reason: String,
}

/// Gates and sends one change. `population` is the directory's size (the breaker's share).
pub async fn dispatch(
    services: &Services,
    governance: &Governance,
    change: &Change<'_>,
    population: usize,
    now: DateTime<Utc>,
) -> Result<Dispatched, StageError> {
    let store = services.store.as_ref();
    let Some(target) = identity::known(store, change.user)
        .await?
        .map(|r| UemTarget {
            id: r.uem.id,
            username: r.uem.username,
        })
    else {
        return Ok(Dispatched::NoTarget);
    };
    let mut action = Action {
        action_id: Action::derive_id(
            &change.correlation,
            change.user,
            &change.app.id,
            change.kind,
        ),
        correlation_id: change.correlation.clone(),
        user_id: change.user.clone(),
        app_id: change.app.id.clone(),
        kind: change.kind,
        push_mode: change.push_mode,
        reasons: vec![Reason {
            rule_id: RECLAIM_RULE.into(),
            text: change.reason.clone(),
        }],
        policy_version: RECLAIM_RULE.into(),
        sequence: 0,
        uem_user: Some(target),
    };
    let groups = directory::load_profile(store, change.user)
        .await?
        .map(|p| p.employee.groups)
        .unwrap_or_default();
    let rec = recommendations::of_user(store, change.user)
        .await?
        .into_iter()
        .map(|(r, _)| r)
        .find(|r| r.action.app_id == change.app.id && r.action.kind == change.kind);
    let approved = rec
        .as_ref()
        .is_some_and(|r| r.state == recommendations::State::Approved);
    let tripped = breaker::tripped(store).await?;
    let facts = GateFacts {
        user_groups: &groups,
        now: Some(now),
        joiner: false,
        approved,
        objected_by: rec
            .as_ref()
            .filter(|r| r.state == recommendations::State::Rejected)
            .map(|r| r.decided_by.clone().unwrap_or_else(|| "an admin".into())),
        held_since: rec
            .as_ref()
            .filter(|r| r.state == recommendations::State::Open)
            .filter(|r| matches!(r.gate, Gate::Hold { .. }))
            .map(|r| r.created_at),
        tripped: tripped.get(&(change.app.id.clone(), change.kind)).cloned(),
        kill_switch: breaker::kill_switch(store).await?.is_some(),
    };
    let mut gate = governance.gate_with(&action, change.app, &facts);
    if gate == Gate::Execute && !approved && governance.breaker.watches(change.kind) {
        let trip = breaker::count(
            store,
            &governance.breaker,
            &change.app.id,
            &change.app.name,
            change.kind,
            change.user,
            population,
            now,
        )
        .await?;
        if let Some(t) = trip {
            if facts.tripped.is_none() {
                services
                    .audit(
                        AuditRecord::new(
                            now,
                            change.correlation.clone(),
                            AuditKind::BreakerTripped,
                            "reclaim",
                            t.reason.clone(),
                        )
                        .app(&change.app.id)
                        .user(change.user),
                    )
                    .await?;
            }
            gate = Gate::AwaitApproval { reason: t.reason };
        }
    }
    if gate != Gate::Execute {
        recommendations::hold(
            store,
            &action,
            &gate,
            Origin::Policy,
            Some(change.reason.clone()),
            now,
        )
        .await?;
        audit_planned(services, &action, &gate, now).await?;
        return Ok(Dispatched::Held(gate));
    }
    // Sent before the intent is written, as the decision stage does: a lost race recomputes the
    // same action id, which the executor deduplicates.
    for _ in 0..8 {
        let (current, version) = intent::load(store, change.user).await?;
        let observation = observed::observe(store, change.user).await?;
        let base = current.base(&observation, now);
        action.sequence = intent::next_version(version);
        send(services, &action, now).await?;
        let next = current.after(&base, &[&action], None, now, action.sequence);
        if intent::save(store, change.user, &next, version).await? {
            if approved && let Some(r) = &rec {
                recommendations::done(store, r, now).await?;
            }
            audit_planned(services, &action, &gate, now).await?;
            return Ok(Dispatched::Queued);
        }
    }
    Err(StageError::Retryable(format!(
        "the intent of {} keeps changing concurrently",
        change.user
    )))
}

async fn send(services: &Services, action: &Action, now: DateTime<Utc>) -> Result<(), StageError> {
    let (pk, sk) = keys::correlation_action(action.correlation_id.as_str(), &action.action_id);
    services
        .store
        .put_as(&pk, &sk, action, None, Condition::None)
        .await?;
    let envelope = Envelope::new(
        MessageKind::Action,
        EventId::new(action.action_id.as_str()),
        action.correlation_id.clone(),
        now,
        action.clone(),
    );
    let body =
        serde_json::to_string(&envelope).map_err(|e| StageError::Permanent(e.to_string()))?;
    services
        .queue
        .send(
            names::EXECUTE,
            vec![OutgoingMessage::fifo(
                body,
                action.user_id.as_str(),
                action.action_id.as_str(),
            )],
        )
        .await?;
    Ok(())
}

async fn audit_planned(
    services: &Services,
    action: &Action,
    gate: &Gate,
    now: DateTime<Utc>,
) -> Result<(), StageError> {
    let outcome = match gate {
        Gate::Execute => "runs now".to_owned(),
        Gate::AwaitApproval { reason } => format!("awaits approval ({reason})"),
        Gate::RecommendOnly { reason } => format!("recommended only ({reason})"),
        Gate::Hold { reason, .. } => format!("held ({reason})"),
    };
    let reason = action
        .reasons
        .first()
        .map(|r| r.text.as_str())
        .unwrap_or_default();
    services
        .audit(
            AuditRecord::new(
                now,
                action.correlation_id.clone(),
                AuditKind::ActionPlanned,
                "reclaim",
                format!(
                    "{} {} ({reason}): {outcome}",
                    action.kind.as_str(),
                    action.app_id
                ),
            )
            .user(&action.user_id)
            .app(&action.app_id)
            .policy(&action.policy_version, vec![RECLAIM_RULE.into()])
            .detail(json!({
                "action_id": action.action_id,
                "kind": action.kind.as_str(),
                "push_mode": action.push_mode.as_str(),
                "reasons": [reason],
                "gate": gate,
            })),
        )
        .await
}
