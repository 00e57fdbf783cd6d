//! Decision evaluation: policies turn context into a desired app set, the reconciler turns desired
//! versus managed into actions, and the governance gates decide which run now. Everything is
//! recorded: the decision with its rule ids, every action with its gate.

use super::batch::{BatchReport, InboundMessage, decode_envelope, process_each};
use super::enrich::EnrichedEvent;
use super::intent;
use super::policy_repo::{LoadedPolicy, PolicyCache};
use super::{Services, StageError};
use crate::domain::{Action, AuditKind, AuditRecord, Decision, Envelope, MessageKind};
use crate::governance::{Gate, Governance};
use crate::keys;
use crate::ports::queue::names;
use crate::ports::{Condition, OutgoingMessage, StateStoreExt};
use crate::reconcile::reconcile;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// An action that did not run: waiting for approval, or only recommended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    pub action: Action,
    pub gate: Gate,
    pub created_at: DateTime<Utc>,
}

pub struct Decider {
    services: Services,
    policies: PolicyCache,
    governance: Governance,
}

impl Decider {
    pub fn new(services: Services, policies: PolicyCache) -> Self {
        let governance = Governance {
            mode: services.settings.mode,
            pilot_group: services.settings.pilot_group.clone(),
        };
        Self {
            services,
            policies,
            governance,
        }
    }

    pub async fn handle_batch(&self, messages: Vec<InboundMessage>) -> BatchReport {
        process_each(&self.services, names::DECIDE, messages, |m| self.process(m)).await
    }

    async fn process(&self, message: InboundMessage) -> Result<(), StageError> {
        let envelope: Envelope<EnrichedEvent> = decode_envelope(&message.body)?;
        let s = &self.services;
        let policy = self
            .policies
            .current(s.store.as_ref(), s.clock.now())
            .await?;
        let decision = self.decide(&envelope, &policy)?;
        let user_groups = envelope
            .payload
            .context
            .as_ref()
            .map(|c| c.employee.groups.clone())
            .unwrap_or_default();
        let as_of = envelope.payload.profile_as_of;
        // Compare-and-swap on the user's intent: concurrent decisions for one user retry.
        for _ in 0..8 {
            let (current, version) = intent::load(s.store.as_ref(), &decision.user_id).await?;
            if current.supersedes(as_of) {
                return self.record_superseded(&envelope, &decision).await;
            }
            let gated: Vec<(Action, Gate)> = reconcile(&decision, &current.apps)
                .into_iter()
                .map(|action| {
                    let gate = match policy.catalog.get(&action.app_id) {
                        Some(app) => self.governance.gate(&action, app, &user_groups),
                        // An app gone from the catalog can only be removed; removal needs no gate.
                        None => Gate::Execute,
                    };
                    (action, gate)
                })
                .collect();
            let executed: Vec<&Action> = gated
                .iter()
                .filter(|(_, g)| *g == Gate::Execute)
                .map(|(a, _)| a)
                .collect();
            // Sent before the intent is written: if the write loses, the retry computes the same
            // action ids again and the executor deduplicates them; the reverse order could lose
            // actions that the intent already claims.
            self.send(&envelope, &executed).await?;
            let next = current.after(&executed, as_of, s.clock.now());
            if !intent::save(s.store.as_ref(), &decision.user_id, &next, version).await? {
                continue;
            }
            self.record_decision(&envelope, &decision, gated.len())
                .await?;
            for (action, gate) in gated {
                self.record_action(&envelope, &action, &gate).await?;
                if gate != Gate::Execute {
                    self.hold(&action, gate).await?;
                }
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
        for action in actions {
            let (pk, sk) =
                keys::correlation_action(action.correlation_id.as_str(), &action.action_id);
            s.store
                .put_as(&pk, &sk, *action, None, Condition::None)
                .await?;
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
        s.queue.send(names::EXECUTE, outgoing).await?;
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
            .detail(json!({"desired": desired, "denied": denied, "mode": self.governance.mode.as_str()})),
        )
        .await
    }

    async fn record_action(
        &self,
        envelope: &Envelope<EnrichedEvent>,
        action: &Action,
        gate: &Gate,
    ) -> Result<(), StageError> {
        let s = &self.services;
        let reasons: Vec<&str> = action.reasons.iter().map(|r| r.text.as_str()).collect();
        let outcome = match gate {
            Gate::Execute => "runs now".to_owned(),
            Gate::AwaitApproval { reason } => format!("awaits approval ({reason})"),
            Gate::RecommendOnly { reason } => format!("recommended only ({reason})"),
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

    async fn hold(&self, action: &Action, gate: Gate) -> Result<(), StageError> {
        let s = &self.services;
        let recommendation = Recommendation {
            action: action.clone(),
            gate,
            created_at: s.clock.now(),
        };
        let (pk, sk) = keys::recommendation(&action.user_id, &action.app_id);
        s.store
            .put_as(&pk, &sk, &recommendation, None, Condition::None)
            .await?;
        let (pk, sk) = keys::recommendation_index(&action.user_id, &action.app_id);
        s.store
            .put_as(&pk, &sk, &recommendation, None, Condition::None)
            .await?;
        Ok(())
    }
}
