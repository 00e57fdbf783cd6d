//! UEM execution. Actions are first recorded as pending changes per app; then one worker at a time
//! (a short lease per app) applies every pending change of that app in one read-modify-write of
//! the app's Loadout-owned smart groups. API calls therefore grow with apps changed, not with
//! users x apps, and a retry after a crash or a lost response converges instead of duplicating.

use super::batch::{BatchReport, InboundMessage, dead_letter, decode_envelope, process_each};
use super::membership::{Change, GroupPlan, apply_app_changes};
use super::policy_repo::PolicyCache;
use super::{Services, StageError};
use crate::domain::{
    Action, ActionKind, ActionStatus, AppId, AuditKind, AuditRecord, Envelope, UserId,
};
use crate::keys;
use crate::ports::queue::names;
use crate::ports::{Condition, StateStoreExt};
use crate::reconcile::ManagedApp;
use crate::uem::UemApi;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct PendingChange {
    action: Action,
    queued_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Lease {
    owner: String,
}

/// How long a worker may hold an app's lease before another may take over (a crashed worker's
/// lease simply runs out). One app's flush is a handful of UEM calls, well inside this.
const LEASE_SECONDS: i64 = 60;

/// Concurrent invocations record a batch's changes within moments of each other; a fraction of a
/// second is enough for them to share a group write, and small next to UEM's pace (2 calls/s).
pub const DEFAULT_GATHER: Duration = Duration::from_millis(250);

/// Drops every app lease. Only for a process that knows it is the sole executor of its store
/// (local mode at start-up): any lease found then belongs to a process that died.
pub async fn clear_app_leases(store: &dyn crate::ports::StateStore) -> Result<usize, StageError> {
    let (pk, _) = keys::app_lease(&AppId::new(""));
    let leases = store.query(&pk, "").await?;
    for lease in &leases {
        store.delete(&lease.pk, &lease.sk, Condition::None).await?;
    }
    Ok(leases.len())
}

pub struct Executor {
    services: Services,
    uem: Arc<dyn UemApi>,
    policies: PolicyCache,
    /// How long a batch waits for another worker's flush of the same app before giving up.
    lease_wait: Duration,
    /// How long a worker that has taken an app's lease waits before reading the app's pending
    /// changes, so that what concurrent workers are recording at that moment goes out in the
    /// same group write instead of the next one.
    gather: Duration,
}

impl Executor {
    pub fn new(services: Services, uem: Arc<dyn UemApi>, policies: PolicyCache) -> Self {
        Self {
            services,
            uem,
            policies,
            lease_wait: Duration::from_secs(20),
            gather: DEFAULT_GATHER,
        }
    }

    pub fn with_lease_wait(mut self, wait: Duration) -> Self {
        self.lease_wait = wait;
        self
    }

    /// Sets the gather window; zero when this is the only worker (nobody to gather from).
    pub fn with_gather(mut self, gather: Duration) -> Self {
        self.gather = gather;
        self
    }

    /// Records every action of the batch, applies the touched apps, and reports per message.
    pub async fn handle_batch(&self, messages: Vec<InboundMessage>) -> BatchReport {
        let s = &self.services;
        let accepted: std::sync::Mutex<Vec<(InboundMessage, Action)>> = Default::default();
        let mut report = process_each(s, names::EXECUTE, messages, |m| async {
            let envelope: Envelope<Action> = decode_envelope(&m.body)?;
            self.accept(&envelope.payload).await?;
            accepted
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push((m, envelope.payload));
            Ok(())
        })
        .await;
        let accepted = accepted.into_inner().unwrap_or_else(|p| p.into_inner());
        let apps: BTreeSet<AppId> = accepted.iter().map(|(_, a)| a.app_id.clone()).collect();
        for app in &apps {
            let mine: Vec<&Action> = accepted
                .iter()
                .filter(|(_, a)| &a.app_id == app)
                .map(|(_, a)| a)
                .collect();
            if let Err(e) = self.flush_until_done(app, &mine).await {
                tracing::warn!(app = %app, error = %e, "applying changes failed; will retry");
            }
        }
        // Phase two: each accepted message succeeds only if its action is settled.
        let checked = process_each(
            s,
            names::EXECUTE,
            accepted.iter().map(|(m, _)| m.clone()).collect(),
            |m| {
                let action = accepted
                    .iter()
                    .find(|(am, _)| am.message_id == m.message_id)
                    .map(|(_, a)| a.clone());
                async move {
                    let Some(action) = action else {
                        return Err(StageError::Retryable("lost track of an action".into()));
                    };
                    self.settled(&action).await
                }
            },
        )
        .await;
        report.succeeded = checked.succeeded;
        report.dead_lettered.extend(checked.dead_lettered);
        // FIFO order: a message that failed phase one already failed everything after it.
        let mut failed = checked.failed;
        failed.extend(report.failed);
        report.failed = failed;
        report
    }

    /// Makes an action pending (idempotent: an action already done stays done).
    pub async fn accept(&self, action: &Action) -> Result<(), StageError> {
        let s = &self.services;
        let (pk, sk) = keys::action(&action.action_id);
        if let Some((record, _)) = s.store.get_as::<ActionRecord>(&pk, &sk).await?
            && (record.status == ActionStatus::Done
                || (record.status == ActionStatus::Failed && record.permanent))
        {
            return Ok(());
        }
        let now = s.clock.now();
        s.store
            .put_as(
                &pk,
                &sk,
                &ActionRecord {
                    action: action.clone(),
                    status: ActionStatus::Pending,
                    detail: None,
                    permanent: false,
                    updated_at: now,
                },
                None,
                Condition::None,
            )
            .await?;
        let (pk, sk) = keys::pending(&action.app_id, &action.user_id, &action.action_id);
        s.store
            .put_as(
                &pk,
                &sk,
                &PendingChange {
                    action: action.clone(),
                    queued_at: now,
                },
                None,
                Condition::None,
            )
            .await?;
        let (pk, sk) = keys::pending_app(&action.app_id);
        s.store
            .put_as(&pk, &sk, &true, None, Condition::None)
            .await?;
        Ok(())
    }

    /// Ok when the action is done; a permanent failure dead-letters; anything else retries.
    async fn settled(&self, action: &Action) -> Result<(), StageError> {
        let (pk, sk) = keys::action(&action.action_id);
        match self.services.store.get_as::<ActionRecord>(&pk, &sk).await? {
            Some((r, _)) if r.status == ActionStatus::Done => Ok(()),
            Some((r, _)) if r.status == ActionStatus::Failed && r.permanent => Err(
                StageError::Permanent(r.detail.unwrap_or_else(|| "failed".into())),
            ),
            Some((r, _)) => Err(StageError::Retryable(format!(
                "action is {:?}: {}",
                r.status,
                r.detail.unwrap_or_default()
            ))),
            None => Err(StageError::Retryable("action record missing".into())),
        }
    }

    /// Flushes an app, waiting while another worker holds its lease, until `mine` are settled.
    async fn flush_until_done(&self, app: &AppId, mine: &[&Action]) -> Result<(), StageError> {
        let s = &self.services;
        let deadline =
            s.clock.now() + chrono::Duration::from_std(self.lease_wait).unwrap_or_default();
        loop {
            if self.flush(app).await? == Flushed::Done {
                return Ok(());
            }
            // Another worker holds the app and will likely apply ours with its own: look again
            // only after a while, and take the lease only if ours are still not settled (taking
            // it just to find nothing would hold up the holder's next round).
            s.clock.sleep(Duration::from_millis(200)).await;
            if self.all_settled(mine).await {
                return Ok(());
            }
            if s.clock.now() > deadline {
                return Err(StageError::Retryable(format!(
                    "another worker is still applying changes to {app}"
                )));
            }
        }
    }

    async fn all_settled(&self, actions: &[&Action]) -> bool {
        for a in actions {
            if self.settled(a).await.is_err() {
                return false;
            }
        }
        true
    }

    /// Applies every pending change of one app, if this worker can take the app's lease.
    pub async fn flush(&self, app: &AppId) -> Result<Flushed, StageError> {
        let s = &self.services;
        let (lease_pk, lease_sk) = keys::app_lease(app);
        let owner = uuid::Uuid::new_v4().to_string();
        let expires = s.clock.now().timestamp() + LEASE_SECONDS;
        let lease_version = match s
            .store
            .put_as(
                &lease_pk,
                &lease_sk,
                &Lease {
                    owner: owner.clone(),
                },
                Some(expires),
                Condition::NotExists,
            )
            .await
        {
            Ok(v) => v,
            Err(e) if e.is_condition_failed() => return Ok(Flushed::Busy),
            Err(e) => return Err(e.into()),
        };
        if !self.gather.is_zero() {
            s.clock.sleep(self.gather).await;
        }
        let outcome = self.flush_locked(app).await;
        if let Err(e) = s
            .store
            .delete(&lease_pk, &lease_sk, Condition::Version(lease_version))
            .await
        {
            tracing::warn!(app = %app, error = %e, "could not release an app lease; it expires by itself");
        }
        outcome.map(|_| Flushed::Done)
    }

    async fn flush_locked(&self, app: &AppId) -> Result<(), StageError> {
        let s = &self.services;
        // New changes may arrive while we apply; keep going until none are left.
        for _round in 0..16 {
            let items = s.store.query(&keys::pending_partition(app), "").await?;
            if items.is_empty() {
                let (pk, sk) = keys::pending_app(app);
                s.store.delete(&pk, &sk, Condition::None).await?;
                return Ok(());
            }
            let mut pending: Vec<PendingChange> = Vec::with_capacity(items.len());
            for item in &items {
                pending.push(item.decode()?);
            }
            pending.sort_by(|a, b| {
                (a.queued_at, a.action.action_id.as_str())
                    .cmp(&(b.queued_at, b.action.action_id.as_str()))
            });
            self.mark(&pending, ActionStatus::Dispatched, None, false)
                .await?;
            // The last change per user wins: a joiner's assign followed by a leaver's remove is
            // one removal, not two API calls.
            let mut net: BTreeMap<UserId, Change> = BTreeMap::new();
            for p in &pending {
                let change = match p.action.kind {
                    ActionKind::Assign => Change::Assign(p.action.push_mode),
                    ActionKind::Remove => Change::Remove,
                };
                net.insert(p.action.user_id.clone(), change);
            }
            let policy = self
                .policies
                .current(s.store.as_ref(), s.clock.now())
                .await?;
            let outcome = match policy.catalog.get(app) {
                Some(catalog_app) => {
                    apply_app_changes(s, self.uem.as_ref(), catalog_app, &net).await?
                }
                None => {
                    let reason = format!("app {app} is not in the active catalog");
                    net.keys()
                        .map(|u| (u.clone(), Err((reason.clone(), true))))
                        .collect()
                }
            };
            self.settle(&pending, &outcome).await?;
        }
        Err(StageError::Retryable(format!(
            "changes to {app} keep arriving; the rest waits for the next flush"
        )))
    }

    /// Records the outcome of each pending change: status, managed state, audit; then clears it.
    async fn settle(
        &self,
        pending: &[PendingChange],
        outcome: &BTreeMap<UserId, Result<GroupPlan, (String, bool)>>,
    ) -> Result<(), StageError> {
        let s = &self.services;
        let now = s.clock.now();
        // The newest change per user is the one that took effect; older ones were superseded.
        let mut newest: BTreeMap<&UserId, &str> = BTreeMap::new();
        for p in pending {
            newest.insert(&p.action.user_id, p.action.action_id.as_str());
        }
        for p in pending {
            let action = &p.action;
            let effective = newest.get(&action.user_id) == Some(&action.action_id.as_str());
            let result = outcome
                .get(&action.user_id)
                .cloned()
                .unwrap_or_else(|| Err(("no outcome recorded".into(), false)));
            let (status, detail, permanent, kind, summary) = match (&result, effective) {
                (Ok(plan), true) => {
                    self.update_managed(action, now).await?;
                    (
                        ActionStatus::Done,
                        Some(plan.describe()),
                        false,
                        AuditKind::ActionApplied,
                        format!(
                            "{} {} for {}: {}",
                            past_tense(action.kind),
                            action.app_id,
                            action.user_id,
                            plan.describe()
                        ),
                    )
                }
                (Ok(_), false) => (
                    ActionStatus::Done,
                    Some("superseded by a later change in the same batch".into()),
                    false,
                    AuditKind::ActionApplied,
                    format!(
                        "{} {} for {} superseded by a later change",
                        action.kind.as_str(),
                        action.app_id,
                        action.user_id
                    ),
                ),
                (Err((reason, permanent)), _) => (
                    ActionStatus::Failed,
                    Some(reason.clone()),
                    *permanent,
                    AuditKind::ActionFailed,
                    format!(
                        "{} {} for {} failed: {reason}",
                        action.kind.as_str(),
                        action.app_id,
                        action.user_id
                    ),
                ),
            };
            self.mark(std::slice::from_ref(p), status, detail.clone(), permanent)
                .await?;
            if permanent && action.kind == ActionKind::Assign {
                // Never applied, so it must not count as held: the next decision proposes it
                // again (once UEM knows the app, it will go through).
                super::intent::forget(s.store.as_ref(), &action.user_id, &action.app_id).await?;
            }
            // Every outcome is audited, retryable failures included: each attempt happened.
            s.audit(
                AuditRecord::new(now, action.correlation_id.clone(), kind, "execute", summary)
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
                        "detail": detail,
                    })),
            )
            .await?;
            let (pk, sk) = keys::pending(&action.app_id, &action.user_id, &action.action_id);
            s.store.delete(&pk, &sk, Condition::None).await?;
        }
        Ok(())
    }

    async fn update_managed(&self, action: &Action, now: DateTime<Utc>) -> Result<(), StageError> {
        let s = &self.services;
        let (pk, sk) = keys::managed(&action.user_id, &action.app_id);
        match action.kind {
            ActionKind::Assign => {
                let managed = ManagedApp {
                    app_id: action.app_id.clone(),
                    push_mode: action.push_mode,
                    assigned_by: action.correlation_id.clone(),
                    assigned_at: now,
                };
                s.store
                    .put_as(&pk, &sk, &managed, None, Condition::None)
                    .await?;
            }
            ActionKind::Remove => s.store.delete(&pk, &sk, Condition::None).await?,
        }
        Ok(())
    }

    async fn mark(
        &self,
        pending: &[PendingChange],
        status: ActionStatus,
        detail: Option<String>,
        permanent: bool,
    ) -> Result<(), StageError> {
        let s = &self.services;
        for p in pending {
            let (pk, sk) = keys::action(&p.action.action_id);
            s.store
                .put_as(
                    &pk,
                    &sk,
                    &ActionRecord {
                        action: p.action.clone(),
                        status,
                        detail: detail.clone(),
                        permanent,
                        updated_at: s.clock.now(),
                    },
                    None,
                    Condition::None,
                )
                .await?;
        }
        Ok(())
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

/// Whether a flush ran or another worker holds the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flushed {
    Done,
    Busy,
}
