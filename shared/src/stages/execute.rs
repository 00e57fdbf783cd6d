//! UEM execution. An action arriving on the `execute` queue is recorded as a pending change of its
//! app in the state store, and the message is done: the pending change is as durable as the
//! message was. Recording never waits for UEM. The first change of an app also sends a nudge to
//! the `flush` queue, delayed by the debounce window; when it arrives, one worker (the app's
//! lease) applies everything pending for the app, recorded by any number of invocations in the
//! meantime, in one group write per shard, in rounds until none is left. API calls grow with apps
//! changed, not with users x apps, whatever the SQS batch size or the number of executors.
//!
//! Nothing is lost in between: a flush that fails (UEM down, throttled, the invocation's time
//! running out) leaves the changes pending; the next recording for the app, the scheduled nudge
//! ([`Executor::flush_pending`]) or the sweep picks them up. A change that can never succeed is
//! given up: its action is marked failed, the user's intent is restored so the next decision
//! proposes it again, and the user is flagged for the next sweep.

use super::app_lease::AppLease;
use super::approval_request::open_asked;
use super::approve::Approvals;
use super::batch::{BatchReport, InboundMessage, dead_letter, decode_envelope, process_each};
use super::intent::{self, Settlement};
use super::lanes::{app_of, process_lanes};
use super::membership::{AppTarget, AppWriter, Change, Failure, UserChange};
use super::policy_repo::PolicyCache;
use super::{Services, StageError};
use crate::approvals::ApprovalAsk;
use crate::deadline;
use crate::domain::{
    Action, ActionKind, ActionStatus, AppId, AuditKind, AuditRecord, CorrelationId, Envelope,
    MessageKind, UserId,
};
use crate::keys;
use crate::ports::queue::names;
use crate::ports::{Condition, OutgoingMessage, StateStoreExt};
use crate::uem::UemApi;
use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;

/// The status of one action, kept so that a redelivered action is applied once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionRecord {
    pub action: Action,
    pub status: ActionStatus,
    /// Why it failed, or which group it changed.
    #[serde(default)]
    pub detail: Option<String>,
    /// A failure that retrying cannot fix.
    #[serde(default)]
    pub permanent: bool,
    pub updated_at: DateTime<Utc>,
}

impl ActionRecord {
    fn settled(&self) -> bool {
        self.status == ActionStatus::Done || (self.status == ActionStatus::Failed && self.permanent)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct PendingChange {
    action: Action,
    queued_at: DateTime<Utc>,
}

/// The index entry of an app with pending changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct PendingApp {
    /// The first change recorded since the app was last flushed empty.
    first_at: DateTime<Utc>,
    /// The latest change recorded.
    recorded_at: DateTime<Utc>,
    /// When the flush nudge now on its way will arrive.
    nudge_due: DateTime<Utc>,
}

/// The flush queue's message: apply this app's pending changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlushRequest {
    pub app_id: AppId,
}

/// Why a user needs another decision at the next sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attention {
    pub reason: String,
    pub at: DateTime<Utc>,
}

/// How long an app's lease lives without renewal. It must outlast the longest a single UEM call
/// can take inside an invocation (every wait of the client ends at the invocation's deadline, and
/// the executor's Lambda timeout is 120 s), so nobody takes the lease over mid-write.
pub const LEASE_TTL: Duration = Duration::from_secs(180);

/// Rounds of one flush: changes that keep arriving are left to the next flush.
const MAX_ROUNDS: usize = 16;

/// A round is started only with this much of the invocation left.
const ROUND_BUDGET: Duration = Duration::from_secs(10);

/// Apps flushed side by side by the schedule's nudge.
const FLUSHES_IN_FLIGHT: usize = 8;
/// Users whose changes are settled at once after a flush (each settlement is a few writes).
const SETTLES_IN_FLIGHT: usize = 16;

/// Whether a flush ran or another worker holds the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flushed {
    Done,
    Busy,
}

pub struct Executor {
    services: Services,
    uem: Arc<dyn UemApi>,
    policies: PolicyCache,
    /// Opens the ServiceNow requests the decision engine asks for (`approval_request`).
    approvals: Option<Arc<Approvals>>,
    debounce: Duration,
    max_wait: Duration,
    lease_ttl: Duration,
}

impl Executor {
    pub fn new(services: Services, uem: Arc<dyn UemApi>, policies: PolicyCache) -> Self {
        let debounce = services.settings.execute_debounce;
        let max_wait = services.settings.execute_max_wait;
        Self {
            services,
            uem,
            policies,
            approvals: None,
            debounce,
            max_wait,
            lease_ttl: LEASE_TTL,
        }
    }

    /// Sets the debounce window (zero: write at once, e.g. a single worker with nobody to wait for).
    pub fn with_debounce(mut self, debounce: Duration) -> Self {
        self.debounce = debounce;
        self
    }

    /// Sets how long a flush may wait for a backlog to finish arriving.
    pub fn with_max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = max_wait;
        self
    }

    pub fn with_lease_ttl(mut self, ttl: Duration) -> Self {
        self.lease_ttl = ttl;
        self
    }

    /// Opens approval requests (ServiceNow) for the assignments the gates hold for an approver.
    pub fn with_approvals(mut self, approvals: Arc<Approvals>) -> Self {
        self.approvals = Some(approvals);
        self
    }

    /// A batch of either queue: actions are recorded as pending changes (the message is then
    /// done), flush nudges apply their app's pending changes.
    #[tracing::instrument(name = "execute_batch", skip_all, fields(messages = messages.len()))]
    pub async fn handle_batch(&self, messages: Vec<InboundMessage>) -> BatchReport {
        let s = &self.services;
        let queue = match messages.first().map(|m| m.group_id.is_some()) {
            Some(false) => names::FLUSH,
            _ => names::EXECUTE,
        };
        let handle = |m: InboundMessage| async move {
            let kind = serde_json::from_str::<serde_json::Value>(&m.body)
                .ok()
                .and_then(|v| v.get("kind").and_then(|k| k.as_str()).map(str::to_owned));
            if kind.as_deref() == Some("flush") {
                let envelope: Envelope<FlushRequest> = decode_envelope(&m.body)?;
                return self.nudged(&envelope.payload.app_id).await;
            }
            if kind.as_deref() == Some("approval_request") {
                let envelope: Envelope<ApprovalAsk> = decode_envelope(&m.body)?;
                return self.open_approvals(envelope.payload).await;
            }
            let envelope: Envelope<Action> = decode_envelope(&m.body)?;
            let action = envelope.payload;
            match self.accept(&action).await {
                Ok(()) => Ok(()),
                Err(e) if m.receive_count >= s.settings.max_receives => {
                    // Its last delivery: it goes to the dead-letter queue, so stop believing it
                    // will happen, and have the sweep decide for the user again.
                    self.give_up(&action, &e.to_string()).await?;
                    Err(e)
                }
                Err(e) => Err(e),
            }
        };
        if queue == names::EXECUTE {
            // Changes to different apps are recorded side by side.
            process_lanes(s, queue, messages, app_of, handle).await
        } else {
            process_each(s, queue, messages, handle).await
        }
    }

    /// Opens the ServiceNow requests of a held assignment (none without ServiceNow). A request
    /// ServiceNow would not take ends in Error, audited and announced, and the message is done:
    /// the next decision for the user asks again.
    async fn open_approvals(&self, ask: ApprovalAsk) -> Result<(), StageError> {
        let Some(approvals) = &self.approvals else {
            tracing::debug!(user = %ask.action.user_id, app = %ask.action.app_id, "no approvals configured: ask ignored");
            return Ok(());
        };
        let s = &self.services;
        let policy = self
            .policies
            .current(s.store.as_ref(), s.clock.now())
            .await?;
        open_asked(approvals, self.uem.as_ref(), &policy.catalog, ask).await?;
        Ok(())
    }

    /// Makes an action a pending change of its app (idempotent: a settled action stays settled)
    /// and, unless one is on its way, sends the app a delayed flush nudge.
    pub async fn accept(&self, action: &Action) -> Result<(), StageError> {
        let s = &self.services;
        let (pk, sk) = keys::action(&action.action_id);
        if let Some((record, _)) = s.store.get_as::<ActionRecord>(&pk, &sk).await?
            && record.settled()
        {
            return Ok(());
        }
        let now = s.clock.now();
        let (ppk, psk) = keys::pending(
            &action.app_id,
            action.user_id.as_str(),
            action.sequence,
            &action.action_id,
        );
        s.store
            .put_as(
                &ppk,
                &psk,
                &PendingChange {
                    action: action.clone(),
                    queued_at: now,
                },
                None,
                Condition::None,
            )
            .await?;
        self.nudge(&action.app_id, now).await
    }

    /// Writes the app's index entry after its change (always: a flusher that found no change
    /// deletes the entry only if nobody wrote it since, see `flush`), and sends a flush nudge
    /// delayed by the debounce window unless one is on its way: changes recorded meanwhile, by
    /// any invocation, share that flush.
    async fn nudge(&self, app: &AppId, now: DateTime<Utc>) -> Result<(), StageError> {
        let s = &self.services;
        let (pk, sk) = keys::pending_app(app);
        let window = chrono::Duration::from_std(self.debounce).unwrap_or_default();
        for _ in 0..8 {
            let current = s.store.get_as::<PendingApp>(&pk, &sk).await?;
            let (entry, send, condition) = match current {
                // A nudge is on its way (or overdue by less than a window: its flush is running).
                Some((entry, version)) if entry.nudge_due + window > now => (
                    PendingApp {
                        recorded_at: now,
                        ..entry
                    },
                    false,
                    Condition::Version(version),
                ),
                Some((entry, version)) => (
                    PendingApp {
                        recorded_at: now,
                        nudge_due: now + window,
                        ..entry
                    },
                    true,
                    Condition::Version(version),
                ),
                None => (
                    PendingApp {
                        first_at: now,
                        recorded_at: now,
                        nudge_due: now + window,
                    },
                    true,
                    Condition::NotExists,
                ),
            };
            match s.store.put_as(&pk, &sk, &entry, None, condition).await {
                Ok(_) => {}
                Err(e) if e.is_condition_failed() => continue,
                Err(e) => return Err(e.into()),
            }
            if send {
                self.send_nudge(app, self.debounce, now).await?;
            }
            return Ok(());
        }
        Err(StageError::Retryable(format!(
            "the pending index of {app} keeps changing concurrently"
        )))
    }

    async fn send_nudge(
        &self,
        app: &AppId,
        delay: Duration,
        now: DateTime<Utc>,
    ) -> Result<(), StageError> {
        let envelope = Envelope::new(
            MessageKind::Flush,
            crate::domain::EventId::generate(),
            CorrelationId::new(format!("flush-{app}")),
            now,
            FlushRequest {
                app_id: app.clone(),
            },
        );
        let body =
            serde_json::to_string(&envelope).map_err(|e| StageError::Permanent(e.to_string()))?;
        self.services
            .queue
            .send(names::FLUSH, vec![OutgoingMessage::delayed(body, delay)])
            .await?;
        Ok(())
    }

    /// A flush nudge arrived. While changes are still being recorded (a backlog coming in), the
    /// flush waits until they pause for a debounce window, up to `max_wait` after the first, so
    /// that the whole backlog goes out in as few group writes as possible.
    async fn nudged(&self, app: &AppId) -> Result<(), StageError> {
        let s = &self.services;
        let now = s.clock.now();
        let (pk, sk) = keys::pending_app(app);
        if let Some((entry, version)) = s.store.get_as::<PendingApp>(&pk, &sk).await? {
            let quiet = (now - entry.recorded_at).to_std().unwrap_or_default();
            let waited = (now - entry.first_at).to_std().unwrap_or_default();
            if quiet < self.debounce && waited < self.max_wait {
                let delay = (self.debounce - quiet).max(Duration::from_secs(1));
                let due = now + chrono::Duration::from_std(delay).unwrap_or_default();
                let later = PendingApp {
                    nudge_due: due,
                    ..entry
                };
                match s
                    .store
                    .put_as(&pk, &sk, &later, None, Condition::Version(version))
                    .await
                {
                    Ok(_) => return self.send_nudge(app, delay, now).await,
                    // Recorded meanwhile: look again at the next nudge or flush now anyway.
                    Err(e) if e.is_condition_failed() => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        match self.flush_with(app, Duration::ZERO).await {
            Ok(_) => Ok(()),
            // The changes stay pending: the next nudge or the schedule applies them.
            Err(StageError::Retryable(reason)) => {
                tracing::warn!(app = %app, %reason, "flush failed; changes stay pending");
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Applies the pending changes of every app that has some (the scheduled nudge, local
    /// mode's idle loop, the sweep). Apps another worker is flushing are left to it.
    #[tracing::instrument(name = "flush_pending", skip_all)]
    pub async fn flush_pending(&self) -> Result<usize, StageError> {
        let (pk, _) = keys::pending_app(&AppId::new(""));
        let apps: Vec<AppId> = self
            .services
            .store
            .query(&pk, "")
            .await?
            .into_iter()
            .map(|item| AppId::new(&item.sk))
            .collect();
        let flushed = std::sync::atomic::AtomicUsize::new(0);
        // These changes have waited already: no debounce.
        futures::stream::iter(apps.iter())
            .for_each_concurrent(FLUSHES_IN_FLIGHT, |app| {
                let flushed = &flushed;
                async move {
                    match self.flush_with(app, Duration::ZERO).await {
                        Ok(Flushed::Done) => {
                            flushed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                        Ok(Flushed::Busy) => {}
                        Err(e) => {
                            tracing::warn!(app = %app, error = %e, "flush failed; changes stay pending")
                        }
                    }
                }
            })
            .await;
        Ok(flushed.into_inner())
    }

    /// Applies every pending change of one app, unless another worker holds the app's lease.
    pub async fn flush(&self, app: &AppId) -> Result<Flushed, StageError> {
        self.flush_with(app, self.debounce).await
    }

    async fn flush_with(&self, app: &AppId, debounce: Duration) -> Result<Flushed, StageError> {
        let span = tracing::info_span!("flush", app = %app);
        self.flush_inner(app, debounce).instrument(span).await
    }

    async fn flush_inner(&self, app: &AppId, debounce: Duration) -> Result<Flushed, StageError> {
        let s = &self.services;
        if let Some(k) = super::breaker::kill_switch(s.store.as_ref()).await? {
            tracing::warn!(by = %k.by, "the kill switch is on: changes stay pending");
            return Ok(Flushed::Busy);
        }
        let mut debounce = debounce;
        for _ in 0..4 {
            let Some(lease) =
                AppLease::try_take(s.store.as_ref(), s.clock.as_ref(), app, self.lease_ttl).await?
            else {
                return Ok(Flushed::Busy);
            };
            if !debounce.is_zero() && deadline::allows(s.clock.now(), debounce + ROUND_BUDGET) {
                s.clock.sleep(debounce).await;
            }
            debounce = Duration::ZERO;
            let outcome = self.flush_locked(&lease).await;
            lease.release().await;
            outcome?;
            // A recorder that found the lease held left its change to us; look once more now that
            // the lease is free, and forget the app only if nobody recorded since.
            let (ipk, isk) = keys::pending_app(app);
            let index = s.store.get(&ipk, &isk).await?;
            let pending = s.store.query(&keys::pending_partition(app), "").await?;
            if !pending.is_empty() {
                continue;
            }
            if let Some(index) = index {
                match s
                    .store
                    .delete(&ipk, &isk, Condition::Version(index.version))
                    .await
                {
                    Ok(()) => {}
                    Err(e) if e.is_condition_failed() => continue,
                    Err(e) => return Err(e.into()),
                }
            }
            return Ok(Flushed::Done);
        }
        Ok(Flushed::Done)
    }

    async fn target(&self, app: &AppId) -> Result<Option<AppTarget>, StageError> {
        let s = &self.services;
        let policy = self
            .policies
            .current(s.store.as_ref(), s.clock.now())
            .await?;
        if let Some(entry) = policy.catalog.get(app) {
            return Ok(Some(AppTarget::from(entry)));
        }
        // Gone from the catalog: what Loadout remembered when it created the app's groups.
        let (pk, sk) = keys::owned_app(app);
        Ok(s.store.get_as::<AppTarget>(&pk, &sk).await?.map(|(t, _)| t))
    }

    async fn flush_locked(&self, lease: &AppLease<'_>) -> Result<(), StageError> {
        let s = &self.services;
        let app = lease.app();
        for _round in 0..MAX_ROUNDS {
            if !deadline::allows(s.clock.now(), ROUND_BUDGET) {
                return Err(StageError::Retryable(format!(
                    "not enough time left to apply the changes to {app}; they stay pending"
                )));
            }
            let items = s.store.query(&keys::pending_partition(app), "").await?;
            if items.is_empty() {
                return Ok(());
            }
            let mut pending: Vec<PendingChange> = Vec::with_capacity(items.len());
            for item in &items {
                match item.decode::<PendingChange>() {
                    Ok(p) => pending.push(p),
                    Err(e) => {
                        tracing::error!(error = %e, "unreadable pending change dropped");
                        s.store.delete(&item.pk, &item.sk, Condition::None).await?;
                    }
                }
            }
            // The change with the highest sequence per user wins: a joiner's assign followed by a
            // leaver's remove is one removal, whatever order they were recorded in.
            let mut newest: BTreeMap<UserId, &PendingChange> = BTreeMap::new();
            for p in &pending {
                let slot = newest.entry(p.action.user_id.clone()).or_insert(p);
                if (p.action.sequence, p.queued_at) >= (slot.action.sequence, slot.queued_at) {
                    *slot = p;
                }
            }
            let net: BTreeMap<UserId, UserChange> = newest
                .iter()
                .map(|(u, p)| {
                    let change = match p.action.kind {
                        ActionKind::Assign => Change::Assign(p.action.push_mode),
                        ActionKind::Remove => Change::Remove,
                    };
                    (
                        u.clone(),
                        UserChange {
                            change,
                            uem: p.action.uem_user.clone(),
                        },
                    )
                })
                .collect();
            let outcomes = match self.target(app).await? {
                Some(target) => {
                    let writer = AppWriter {
                        services: s,
                        uem: self.uem.as_ref(),
                        lease,
                        target: &target,
                    };
                    writer.apply(&net).await?
                }
                None => {
                    let failure = Failure {
                        reason: format!(
                            "app {app} is neither in the active catalog nor among the apps Loadout created groups for"
                        ),
                        permanent: true,
                    };
                    net.keys()
                        .map(|u| (u.clone(), Err(failure.clone())))
                        .collect()
                }
            };
            let effective: BTreeSet<&str> = newest
                .values()
                .map(|p| p.action.action_id.as_str())
                .collect();
            // Settled a few users at a time: a shard's first reconciliation is thousands of
            // changes of five writes each, which one after another outlast a Lambda invocation.
            // A user's own changes stay in order (they share the user's intent record).
            let mut by_user: BTreeMap<&UserId, Vec<usize>> = BTreeMap::new();
            for (at, p) in pending.iter().enumerate() {
                by_user.entry(&p.action.user_id).or_default().push(at);
            }
            let (pending, effective, outcomes) = (&pending, &effective, &outcomes);
            let settled: Vec<bool> = futures::stream::iter(by_user.into_values())
                .map(|changes| async move {
                    let mut progressed = false;
                    for at in changes {
                        let p = &pending[at];
                        let is_effective = effective.contains(p.action.action_id.as_str());
                        let outcome = outcomes.get(&p.action.user_id);
                        progressed |= self.settle(p, is_effective, outcome).await?;
                    }
                    Ok::<bool, StageError>(progressed)
                })
                .buffer_unordered(SETTLES_IN_FLIGHT)
                .try_collect()
                .await?;
            let progressed = settled.into_iter().any(|p| p);
            if !progressed {
                return Err(StageError::Retryable(format!(
                    "changes to {app} could not be applied yet; they stay pending"
                )));
            }
        }
        Err(StageError::Retryable(format!(
            "changes to {app} keep arriving; the rest waits for the next flush"
        )))
    }

    /// Records the outcome of one pending change; true when it left the pending set.
    async fn settle(
        &self,
        p: &PendingChange,
        effective: bool,
        outcome: Option<&Result<Vec<String>, Failure>>,
    ) -> Result<bool, StageError> {
        let s = &self.services;
        let action = &p.action;
        let now = s.clock.now();
        let (status, detail, permanent, kind, summary) = match (outcome, effective) {
            (Some(Ok(notes)), true) => {
                let detail = if notes.is_empty() {
                    "UEM already matched".to_owned()
                } else {
                    notes.join("; ")
                };
                (
                    ActionStatus::Done,
                    detail.clone(),
                    false,
                    AuditKind::ActionApplied,
                    format!(
                        "{} {} for {}: {detail}",
                        past_tense(action.kind),
                        action.app_id,
                        action.user_id
                    ),
                )
            }
            (_, false) => (
                ActionStatus::Done,
                "superseded by a later change".to_owned(),
                false,
                AuditKind::ActionApplied,
                format!(
                    "{} {} for {} superseded by a later change",
                    action.kind.as_str(),
                    action.app_id,
                    action.user_id
                ),
            ),
            (Some(Err(f)), true) if !f.permanent => {
                s.audit(
                    self.audit(action, AuditKind::ActionFailed, now)
                        .summary(format!(
                            "{} {} for {} failed, will retry: {}",
                            action.kind.as_str(),
                            action.app_id,
                            action.user_id,
                            f.reason
                        )),
                )
                .await?;
                return Ok(false);
            }
            (Some(Err(f)), true) => (
                ActionStatus::Failed,
                f.reason.clone(),
                true,
                AuditKind::ActionGivenUp,
                format!(
                    "{} {} for {} given up: {}; the next decision tries again",
                    action.kind.as_str(),
                    action.app_id,
                    action.user_id,
                    f.reason
                ),
            ),
            (None, true) => return Ok(false),
        };
        let (pk, sk) = keys::action(&action.action_id);
        s.store
            .put_as(
                &pk,
                &sk,
                &ActionRecord {
                    action: action.clone(),
                    status,
                    detail: Some(detail.clone()),
                    permanent,
                    updated_at: now,
                },
                None,
                Condition::None,
            )
            .await?;
        let settlement = if status == ActionStatus::Done {
            Settlement::Done
        } else {
            self.flag(&action.user_id, &detail).await?;
            Settlement::GivenUp { holds: None }
        };
        intent::settle(
            s.store.as_ref(),
            &action.user_id,
            &action.app_id,
            &action.action_id,
            settlement,
        )
        .await?;
        s.audit(
            self.audit(action, kind, now)
                .summary(summary)
                .detail(json!({
                    "action_id": action.action_id,
                    "kind": action.kind.as_str(),
                    "push_mode": action.push_mode.as_str(),
                    "detail": detail,
                })),
        )
        .await?;
        let (pk, sk) = keys::pending(
            &action.app_id,
            action.user_id.as_str(),
            action.sequence,
            &action.action_id,
        );
        s.store.delete(&pk, &sk, Condition::None).await?;
        Ok(true)
    }

    fn audit(&self, action: &Action, kind: AuditKind, now: DateTime<Utc>) -> AuditRecord {
        AuditRecord::new(now, action.correlation_id.clone(), kind, "execute", "")
            .user(&action.user_id)
            .app(&action.app_id)
            .policy(
                &action.policy_version,
                action.reasons.iter().map(|r| r.rule_id.clone()).collect(),
            )
    }

    /// Flags a user for another decision at the next sweep.
    async fn flag(&self, user: &UserId, reason: &str) -> Result<(), StageError> {
        let s = &self.services;
        let (pk, sk) = keys::attention(user);
        s.store
            .put_as(
                &pk,
                &sk,
                &Attention {
                    reason: reason.to_owned(),
                    at: s.clock.now(),
                },
                None,
                Condition::None,
            )
            .await?;
        Ok(())
    }

    /// An action that will not be applied (its message is being dead-lettered): restore the
    /// intent, flag the user and say so in the audit.
    async fn give_up(&self, action: &Action, reason: &str) -> Result<(), StageError> {
        let s = &self.services;
        intent::settle(
            s.store.as_ref(),
            &action.user_id,
            &action.app_id,
            &action.action_id,
            Settlement::GivenUp { holds: None },
        )
        .await?;
        self.flag(&action.user_id, reason).await?;
        s.audit(
            self.audit(action, AuditKind::ActionGivenUp, s.clock.now())
                .summary(format!(
                    "{} {} for {} given up: {reason}; the next sweep decides again",
                    action.kind.as_str(),
                    action.app_id,
                    action.user_id
                )),
        )
        .await
    }

    /// Dead-letters a message directly (used by the local worker for poison messages).
    pub async fn dead_letter(
        &self,
        message: &InboundMessage,
        reason: &str,
    ) -> Result<(), StageError> {
        dead_letter(&self.services, names::EXECUTE, message, reason).await
    }
}

fn past_tense(kind: ActionKind) -> &'static str {
    match kind {
        ActionKind::Assign => "assigned",
        ActionKind::Remove => "removed",
    }
}
