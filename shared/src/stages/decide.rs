//! Decision evaluation: policies turn context into a desired app set, the reconciler turns desired
//! versus managed into actions, and the governance gates decide which run now. Everything is
//! recorded: the decision with its rule ids, every action with its gate.

use super::batch::{BatchReport, InboundMessage, decode_envelope, process_each};
use super::enrich::EnrichedEvent;
use super::observed::{self, Observation};
use super::policy_repo::{LoadedPolicy, PolicyCache};
use super::recommendations::{self, Recommendation};
use super::{Services, StageError};
use super::{breaker, directory, identity, intent, reclaim, suggestions};
use crate::approvals;
use crate::domain::{
    Action, ActionKind, AppId, AuditKind, AuditRecord, Decision, Envelope, EventKind, MessageKind,
    UemTarget, UserId,
};
use crate::governance::{Gate, GateFacts, Governance, Tripped};
use crate::keys;
use crate::ports::queue::names;
use crate::ports::{Condition, OutgoingMessage, StateStore, StateStoreExt};
use crate::reconcile::reconcile;
use chrono::{DateTime, Utc};
use serde_json::json;
use std::collections::BTreeMap;

pub struct Decider {
    services: Services,
    policies: PolicyCache,
    governance: Governance,
    /// The directory's size, for the breaker's share (re-read now and then).
    population: tokio::sync::Mutex<Option<(usize, DateTime<Utc>)>>,
    /// ServiceNow takes the approvals of licensed and high-risk apps (App Approvals): held
    /// assignments are handed to the executor, which opens the requests.
    approval_requests: bool,
}

/// What the gates of one decision read once, rather than once per action.
struct GateState {
    recommendations: BTreeMap<(AppId, ActionKind), Recommendation>,
    tripped: BTreeMap<(AppId, ActionKind), Tripped>,
    kill_switch: bool,
    population: usize,
}

impl Decider {
    pub fn new(services: Services, policies: PolicyCache) -> Self {
        let governance = services.settings.governance();
        Self {
            services,
            policies,
            governance,
            population: tokio::sync::Mutex::new(None),
            approval_requests: false,
        }
    }

    /// Hands assignments held for an approver to the executor as `approval_request` messages
    /// (ServiceNow is configured).
    pub fn with_approval_requests(mut self, on: bool) -> Self {
        self.approval_requests = on;
        self
    }

    #[tracing::instrument(name = "decide_batch", skip_all, fields(messages = messages.len()))]
    pub async fn handle_batch(&self, messages: Vec<InboundMessage>) -> BatchReport {
        process_each(&self.services, names::DECIDE, messages, |m| self.process(m)).await
    }

    async fn population(&self) -> Result<usize, StageError> {
        let s = &self.services;
        let now = s.clock.now();
        let mut cached = self.population.lock().await;
        if let Some((n, at)) = *cached
            && now - at < chrono::Duration::minutes(10)
        {
            return Ok(n);
        }
        let n = directory::all_users(s.store.as_ref()).await?.len();
        *cached = Some((n, now));
        Ok(n)
    }

    async fn gate_state(&self, user: &UserId) -> Result<GateState, StageError> {
        let store = self.services.store.as_ref();
        let recommendations = recommendations::of_user(store, user)
            .await?
            .into_iter()
            .map(|(r, _)| ((r.action.app_id.clone(), r.action.kind), r))
            .collect();
        Ok(GateState {
            recommendations,
            tripped: breaker::tripped(store).await?,
            kill_switch: breaker::kill_switch(store).await?.is_some(),
            population: self.population().await?,
        })
    }

    /// The gate of one action: the governance rules on what this decision knows, an approval
    /// through ServiceNow, and the breaker's count of what is about to run.
    async fn gate(
        &self,
        action: &Action,
        app: &crate::domain::CatalogApp,
        user_groups: &[String],
        joiner: bool,
        state: &GateState,
    ) -> Result<(Gate, bool), StageError> {
        let s = &self.services;
        let now = s.clock.now();
        let key = (action.app_id.clone(), action.kind);
        let rec = state.recommendations.get(&key);
        let mut approved = rec.is_some_and(|r| r.state == recommendations::State::Approved);
        let facts = GateFacts {
            user_groups,
            now: Some(now),
            joiner,
            approved,
            objected_by: rec
                .filter(|r| r.state == recommendations::State::Rejected)
                .map(|r| r.decided_by.clone().unwrap_or_else(|| "an admin".into())),
            held_since: rec
                .filter(|r| r.state == recommendations::State::Open)
                .filter(|r| matches!(r.gate, Gate::Hold { .. }))
                .map(|r| r.created_at),
            tripped: state.tripped.get(&key).cloned(),
            kill_switch: state.kill_switch,
        };
        let mut gate = self.governance.gate_with(action, app, &facts);
        if matches!(gate, Gate::AwaitApproval { .. })
            && action.kind == ActionKind::Assign
            && approvals::approval_for(s.store.as_ref(), &action.user_id, &action.app_id)
                .await?
                .is_some_and(|a| a.is_approved())
        {
            // Approved in ServiceNow (App Approvals): the approver's yes counts like any other.
            approved = true;
            gate = self.governance.gate_with(
                action,
                app,
                &GateFacts {
                    approved: true,
                    ..facts
                },
            );
        }
        if gate == Gate::Execute
            && !approved
            && action.kind == ActionKind::Assign
            && let Some(held) =
                reclaim::waitlist::seat_gate(s.store.as_ref(), app, action, now).await?
        {
            gate = held;
        }
        if gate == Gate::Execute && !approved && self.governance.breaker.watches(action.kind) {
            let tripped = breaker::count(
                s.store.as_ref(),
                &self.governance.breaker,
                &action.app_id,
                &app.name,
                action.kind,
                &action.user_id,
                state.population,
                now,
            )
            .await?;
            if let Some(t) = tripped {
                if !state.tripped.contains_key(&key) {
                    s.audit(
                        AuditRecord::new(
                            now,
                            action.correlation_id.clone(),
                            AuditKind::BreakerTripped,
                            "decide",
                            t.reason.clone(),
                        )
                        .app(&action.app_id)
                        .user(&action.user_id),
                    )
                    .await?;
                }
                gate = Gate::AwaitApproval { reason: t.reason };
            }
        }
        Ok((gate, approved))
    }

    async fn process(&self, message: InboundMessage) -> Result<(), StageError> {
        let envelope: Envelope<EnrichedEvent> = decode_envelope(&message.body)?;
        let s = &self.services;
        // A re-evaluation the sweep or an admin asked for (often because the policy set just
        // changed) is decided under the set active now, not one cached from before the change.
        let policy = if matches!(
            envelope.payload.event.source,
            crate::domain::EventSource::Admin
        ) {
            self.policies
                .current_checked(s.store.as_ref(), s.clock.now())
                .await?
        } else {
            self.policies
                .current(s.store.as_ref(), s.clock.now())
                .await?
        };
        let mut decision = self.decide(&envelope, &policy)?;
        // Seats reclaimed from the user stay reclaimed until an approval or the waitlist
        // brings the app back (the approved suggestions below may).
        let reclaimed = reclaim::exclusion::load(s.store.as_ref(), &decision.user_id).await?;
        reclaim::exclusion::apply(&mut decision, &reclaimed);
        let context = envelope.payload.context.as_ref();
        let user_groups = context
            .map(|c| c.employee.groups.clone())
            .unwrap_or_default();
        let joiner = envelope.payload.event.kind == EventKind::Joiner;
        // Who the user is in UEM: matched during enrichment, else (a leaver, who needs no
        // context) as matched before. Without one, nothing can change in UEM for them yet.
        let target = match context {
            Some(c) => c.uem_user.clone(),
            None => identity::known(s.store.as_ref(), &decision.user_id)
                .await?
                .map(|r| UemTarget {
                    id: r.uem.id,
                    username: r.uem.username,
                }),
        };
        let parked = context.and_then(|c| c.parked.clone());
        let retired = retired_apps(s.store.as_ref()).await?;
        let gate_state = self.gate_state(&decision.user_id).await?;
        if context.is_some() {
            suggestions::add_approved(
                &mut decision,
                &gate_state.recommendations,
                &policy.catalog,
                context,
            );
        }
        let as_of = envelope.payload.profile_as_of;
        // Compare-and-swap on the user's intent: concurrent decisions for one user retry.
        for _ in 0..8 {
            let (current, version) = intent::load(s.store.as_ref(), &decision.user_id).await?;
            if current.supersedes(as_of) {
                return self.record_superseded(&envelope, &decision).await;
            }
            let now = s.clock.now();
            let observation = observed::observe(s.store.as_ref(), &decision.user_id).await?;
            let base = current.base(&observation, now);
            let sequence = intent::next_version(version);
            let mut gated: Vec<(Action, Gate, bool)> = Vec::new();
            for mut action in reconcile(&decision, &base) {
                action.sequence = sequence;
                action.uem_user = target.clone();
                let (gate, approved) = match policy.catalog.get(&action.app_id) {
                    Some(app) => {
                        self.gate(&action, app, &user_groups, joiner, &gate_state)
                            .await?
                    }
                    None => (retired_gate(&action, &retired), false),
                };
                gated.push((action, gate, approved));
            }
            let executed: Vec<&Action> = if target.is_some() {
                gated
                    .iter()
                    .filter(|(_, g, _)| *g == Gate::Execute)
                    .map(|(a, _, _)| a)
                    .collect()
            } else {
                Vec::new()
            };
            // Sent before the intent is written: if the write loses, the retry computes the same
            // action ids again and the executor deduplicates them; the reverse order could lose
            // actions that the intent already claims.
            self.send(&envelope, &executed).await?;
            let next = current.after(&base, &executed, as_of, now, sequence);
            if !intent::save(s.store.as_ref(), &decision.user_id, &next, version).await? {
                continue;
            }
            self.record_decision(&envelope, &decision, gated.len(), &observation)
                .await?;
            // Each action's records are its own: written side by side, not one after another
            // (a joiner's eight apps were eight round trips in a row before the first answer).
            let mut records = Vec::with_capacity(gated.len());
            for (action, gate, approved) in &gated {
                let waiting =
                    match (&target, gate) {
                        (None, Gate::Execute) => Some(parked.clone().unwrap_or_else(|| {
                            "the user has no UEM enrollment user yet".to_owned()
                        })),
                        _ => None,
                    };
                let rec = match gate {
                    Gate::Execute if target.is_some() && *approved => gate_state
                        .recommendations
                        .get(&(action.app_id.clone(), action.kind)),
                    _ => None,
                };
                records.push(self.record_gated(&envelope, action, gate, waiting, rec, now));
            }
            futures::future::try_join_all(records).await?;
            let proposed: Vec<(AppId, ActionKind)> = gated
                .iter()
                .filter(|(_, g, approved)| *g != Gate::Execute || *approved)
                .map(|(a, _, _)| (a.app_id.clone(), a.kind))
                .collect();
            recommendations::forget_others(s.store.as_ref(), &decision.user_id, &proposed).await?;
            if self.approval_requests
                && let Some(context) = context
            {
                self.ask_approvals(&envelope, context, &policy.catalog, &gated)
                    .await?;
            }
            return Ok(());
        }
        Err(StageError::Retryable(format!(
            "decisions for {} keep changing concurrently",
            decision.user_id
        )))
    }

    async fn send(
        &self,
        envelope: &Envelope<EnrichedEvent>,
        actions: &[&Action],
    ) -> Result<(), StageError> {
        if actions.is_empty() {
            return Ok(());
        }
        let s = &self.services;
        let mut outgoing = Vec::with_capacity(actions.len());
        // The correlation's action records, written side by side before the messages go.
        let mut records = Vec::with_capacity(actions.len());
        for action in actions {
            let (pk, sk) =
                keys::correlation_action(action.correlation_id.as_str(), &action.action_id);
            let data =
                serde_json::to_value(action).map_err(|e| StageError::Permanent(e.to_string()))?;
            records.push(async move { s.store.put(&pk, &sk, data, None, Condition::None).await });
            let next = envelope.forward(MessageKind::Action, (*action).clone());
            let body =
                serde_json::to_string(&next).map_err(|e| StageError::Permanent(e.to_string()))?;
            // FIFO per user keeps one person's changes in order; the action id deduplicates.
            outgoing.push(OutgoingMessage::fifo(
                body,
                action.user_id.as_str(),
                action.action_id.as_str(),
            ));
        }
        futures::future::try_join_all(records).await?;
        s.queue.send(names::EXECUTE, outgoing).await?;
        Ok(())
    }

    /// Assignments held because of what the app is (licensed, high risk) go to the executor,
    /// which opens one ServiceNow request per device. A re-decision asks again: opening is
    /// idempotent per user, app, device and round, so no second ticket is made, and a request
    /// that could not be opened before is tried again.
    async fn ask_approvals(
        &self,
        envelope: &Envelope<EnrichedEvent>,
        context: &crate::domain::UserContext,
        catalog: &crate::domain::Catalog,
        gated: &[(Action, Gate, bool)],
    ) -> Result<(), StageError> {
        let s = &self.services;
        let now = s.clock.now();
        let mut outgoing = Vec::new();
        for (action, gate, _) in gated {
            let Gate::AwaitApproval { .. } = gate else {
                continue;
            };
            let Some(app) = catalog.get(&action.app_id) else {
                continue;
            };
            if !self.governance.app_needs_approval(action, app, now) {
                continue;
            }
            match approvals::ask_for(action, app, context) {
                Ok(ask) => {
                    let next = envelope.forward(MessageKind::ApprovalRequest, ask);
                    let body = serde_json::to_string(&next)
                        .map_err(|e| StageError::Permanent(e.to_string()))?;
                    outgoing.push(OutgoingMessage::fifo(
                        body,
                        action.user_id.as_str(),
                        approvals::ask_dedup_id(action),
                    ));
                }
                // Parked, or no device to install on: the next decision (enrollment, the sweep)
                // asks once there is one.
                Err(reason) => tracing::info!(
                    user = %action.user_id,
                    app = %action.app_id,
                    %reason,
                    "no approval request yet"
                ),
            }
        }
        if !outgoing.is_empty() {
            s.queue.send(names::EXECUTE, outgoing).await?;
        }
        Ok(())
    }

    /// A decision made from an older profile than the one already acted on changes nothing.
    async fn record_superseded(
        &self,
        envelope: &Envelope<EnrichedEvent>,
        decision: &Decision,
    ) -> Result<(), StageError> {
        let s = &self.services;
        s.audit(
            AuditRecord::new(
                s.clock.now(),
                decision.correlation_id.clone(),
                AuditKind::Decision,
                "decide",
                format!(
                    "{} event superseded: a decision from a newer profile was already made",
                    envelope.payload.event.kind.as_str()
                ),
            )
            .event(&envelope.event_id)
            .user(&decision.user_id)
            .policy(&decision.policy_version, Vec::new()),
        )
        .await
    }

    fn decide(
        &self,
        envelope: &Envelope<EnrichedEvent>,
        policy: &LoadedPolicy,
    ) -> Result<Decision, StageError> {
        let enriched = &envelope.payload;
        let now = self.services.clock.now();
        let (desired, denied) = match &enriched.context {
            Some(context) => policy
                .engine
                .desired_for(context, enriched.is_manager, &policy.catalog, now)
                .map_err(|e| {
                    StageError::Permanent(format!("policies cannot evaluate this user: {e}"))
                })?,
            None => (Vec::new(), Vec::new()),
        };
        Ok(Decision {
            user_id: enriched.user_id.clone(),
            correlation_id: envelope.correlation_id.clone(),
            policy_version: policy.version.clone(),
            decided_at: now,
            desired,
            denied,
        })
    }

    async fn record_decision(
        &self,
        envelope: &Envelope<EnrichedEvent>,
        decision: &Decision,
        action_count: usize,
        observation: &Observation,
    ) -> Result<(), StageError> {
        let s = &self.services;
        let (pk, sk) = keys::decision(&decision.user_id, decision.correlation_id.as_str());
        s.store
            .put_as(&pk, &sk, decision, None, Condition::None)
            .await?;
        let (pk, sk) = keys::latest_decision(&decision.user_id);
        s.store
            .put_as(&pk, &sk, decision, None, Condition::None)
            .await?;
        let desired: Vec<&str> = decision.desired.iter().map(|e| e.app_id.as_str()).collect();
        let denied: Vec<&str> = decision.denied.iter().map(|d| d.app_id.as_str()).collect();
        s.audit(
            AuditRecord::new(
                s.clock.now(),
                decision.correlation_id.clone(),
                AuditKind::Decision,
                "decide",
                format!(
                    "{} event: {} app(s) desired, {} denied, {} action(s)",
                    envelope.payload.event.kind.as_str(),
                    desired.len(),
                    denied.len(),
                    action_count
                ),
            )
            .event(&envelope.event_id)
            .user(&decision.user_id)
            .policy(&decision.policy_version, decision.rule_ids())
            .detail(json!({
                "desired": desired,
                "denied": denied,
                "mode": self.governance.mode.as_str(),
                "observed": observation.known().map(|h| h.apps.keys().map(|a| a.as_str()).collect::<Vec<_>>()),
            })),
        )
        .await
    }

    /// An action's records once the decision is saved: its audit, and the recommendation it
    /// carries out (`done`) or becomes (a held action).
    async fn record_gated(
        &self,
        envelope: &Envelope<EnrichedEvent>,
        action: &Action,
        gate: &Gate,
        waiting: Option<String>,
        done: Option<&recommendations::Recommendation>,
        now: DateTime<Utc>,
    ) -> Result<(), StageError> {
        let s = &self.services;
        self.record_action(envelope, action, gate, waiting.as_deref())
            .await?;
        match gate {
            Gate::Execute => {
                if let Some(rec) = done {
                    recommendations::done(s.store.as_ref(), rec, now).await?;
                }
            }
            held => {
                recommendations::hold(
                    s.store.as_ref(),
                    action,
                    held,
                    recommendations::Origin::Policy,
                    None,
                    now,
                )
                .await?;
            }
        }
        Ok(())
    }

    async fn record_action(
        &self,
        envelope: &Envelope<EnrichedEvent>,
        action: &Action,
        gate: &Gate,
        waiting: Option<&str>,
    ) -> Result<(), StageError> {
        let s = &self.services;
        let reasons: Vec<&str> = action.reasons.iter().map(|r| r.text.as_str()).collect();
        let outcome = match gate {
            Gate::Execute if waiting.is_some() => {
                format!("waits: {}", waiting.unwrap_or_default())
            }
            Gate::Execute => "runs now".to_owned(),
            Gate::AwaitApproval { reason } => format!("awaits approval ({reason})"),
            Gate::RecommendOnly { reason } => format!("recommended only ({reason})"),
            Gate::Hold { reason, .. } => format!("held ({reason})"),
        };
        s.audit(
            AuditRecord::new(
                s.clock.now(),
                action.correlation_id.clone(),
                AuditKind::ActionPlanned,
                "decide",
                format!(
                    "{} {} ({}): {outcome}",
                    action.kind.as_str(),
                    action.app_id,
                    action
                        .reasons
                        .iter()
                        .map(|r| r.rule_id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
            .event(&envelope.event_id)
            .user(&action.user_id)
            .app(&action.app_id)
            .policy(
                &action.policy_version,
                action.reasons.iter().map(|r| r.rule_id.clone()).collect(),
            )
            .detail(json!({
                "action_id": action.action_id,
                "kind": action.kind.as_str(),
                "push_mode": action.push_mode.as_str(),
                "reasons": reasons,
                "gate": gate,
            })),
        )
        .await
    }
}

/// Apps an admin confirmed may be removed from everyone after leaving the catalog
/// (`loadout sweep --confirm-catalog-removals`): until then such removals wait, since a catalog
/// edit gone wrong would otherwise strip an app from every user at once.
pub async fn retired_apps(store: &dyn StateStore) -> Result<Vec<AppId>, StageError> {
    let items = store.query(keys::RETIRED_APPS, "").await?;
    Ok(items.into_iter().map(|i| AppId::new(&i.sk)).collect())
}

fn retired_gate(action: &Action, retired: &[AppId]) -> Gate {
    if action.kind == ActionKind::Remove && retired.contains(&action.app_id) {
        Gate::Execute
    } else {
        Gate::AwaitApproval {
            reason: format!(
                "{} is no longer in the catalog: removing it from its users needs an admin's confirmation (loadout sweep --confirm-catalog-removals)",
                action.app_id
            ),
        }
    }
}
