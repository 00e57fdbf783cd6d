//! App approvals through ServiceNow: open a request per device the app targets, expire the ones
//! nobody decided, and mark approved ones installed once UEM shows the app. (The decision itself
//! arrives through `approval_callback`.)
//!
//! Opening is idempotent: the request id is derived from the user, app, device and round, the
//! record is created once (a conditional write on the user/app/device pointer), a short claim on
//! the record keeps two openers from posting at once, and the client looks for an existing ticket
//! before it posts again after any failure that may have reached ServiceNow. When ServiceNow
//! stays unreachable the request goes to Error, is audited, and a notice asks for a human; the
//! next `open` of the same action tries again.

use super::{Services, StageError};
use crate::approvals::store;
use crate::approvals::{
    ApprovalRecord, ApprovalState, DUE_AFTER_DAYS, StateFilter, approval_request, check_subject,
    request_id,
};
use crate::domain::{AppId, AuditKind, AuditRecord, UserId};
use crate::notify::{Delivery, NoNotifier, Notice, NoticeBody, Notifier, announce};
use crate::servicenow::ServiceNowApi;
use chrono::{DateTime, Utc};

/// The inputs of [`Approvals::open`] (defined with the records; re-exported where they are used).
pub use crate::approvals::{AppPackage, ApprovalSubject, Requester, TargetDevice};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// While one opener posts a request, others leave it alone; a crashed opener's claim lapses.
const CLAIM_SECONDS: i64 = 120;
/// How long a notice may take before it is dropped (it never holds the pipeline longer).
const NOTICE_LIMIT: Duration = Duration::from_secs(10);
const CAS_ATTEMPTS: usize = 8;

pub struct Approvals {
    services: Services,
    desk: Option<(Arc<dyn ServiceNowApi>, String)>,
    notifier: Arc<dyn Notifier>,
}

impl Approvals {
    /// Without ServiceNow (expiry, installs and listings work; `open` does not) and without
    /// notifications.
    pub fn new(services: Services) -> Self {
        Self {
            services,
            desk: None,
            notifier: Arc::new(NoNotifier),
        }
    }

    /// Opens requests through `desk`; ServiceNow calls back at `callback_url`.
    pub fn with_servicenow(
        mut self,
        desk: Arc<dyn ServiceNowApi>,
        callback_url: impl Into<String>,
    ) -> Self {
        self.desk = Some((desk, callback_url.into()));
        self
    }

    pub fn with_notifier(mut self, notifier: Arc<dyn Notifier>) -> Self {
        self.notifier = notifier;
        self
    }

    /// The notifier its notices go through (shared with the stages that run beside it).
    pub fn notifier(&self) -> Arc<dyn Notifier> {
        self.notifier.clone()
    }

    pub fn servicenow_configured(&self) -> bool {
        self.desk.is_some()
    }

    /// Opens (or finds) one request per device of the subject, concurrently. A request that
    /// cannot be opened comes back in state Error (audited, and a notice sent); only a failing
    /// state store is an `Err`. Requests already decided, or open, are returned as they are; an
    /// expired one is asked again in a new round.
    #[tracing::instrument(skip_all, fields(user = %subject.action.user_id, app = %subject.action.app_id))]
    pub async fn open(&self, subject: &ApprovalSubject) -> Result<Vec<ApprovalRecord>, StageError> {
        let Some((desk, callback_url)) = &self.desk else {
            return Err(StageError::Permanent(
                "ServiceNow is not configured (LOADOUT_SERVICENOW_BASE_URL)".into(),
            ));
        };
        check_subject(subject).map_err(StageError::Permanent)?;
        let opened = futures::future::join_all(
            subject
                .devices
                .iter()
                .map(|device| self.open_one(desk.as_ref(), callback_url, subject, device)),
        )
        .await;
        opened.into_iter().collect()
    }

    async fn open_one(
        &self,
        desk: &dyn ServiceNowApi,
        callback_url: &str,
        subject: &ApprovalSubject,
        device: &TargetDevice,
    ) -> Result<ApprovalRecord, StageError> {
        let s = &self.services;
        let store = s.store.as_ref();
        let action = &subject.action;
        for _ in 0..CAS_ATTEMPTS {
            let pointer =
                store::target(store, &action.user_id, &action.app_id, &device.device_id).await?;
            let (round, pointer_version) = match pointer {
                None => (1, None),
                Some((pointer, version)) => match store::load(store, &pointer.request_id).await? {
                    None => (pointer.round, Some(version)),
                    Some((record, _)) => match record.state {
                        ApprovalState::Expired => (pointer.round + 1, Some(version)),
                        ApprovalState::PendingApproval if record.ticket.is_some() => {
                            return Ok(record);
                        }
                        ApprovalState::PendingApproval | ApprovalState::Error => {
                            return self.resubmit(desk, &record.request_id).await;
                        }
                        ApprovalState::InstallCommandDispatched
                        | ApprovalState::Installed
                        | ApprovalState::Rejected => return Ok(record),
                    },
                },
            };
            let record = self.new_record(subject, device, round, callback_url)?;
            match store::create(store, &record, pointer_version).await {
                Ok(()) => {
                    self.audit_record(
                        &record,
                        AuditKind::ApprovalRequested,
                        format!(
                            "approval needed for {} on device {} (round {}): opening {}",
                            record.app_id(),
                            record.device_id,
                            record.round,
                            record.request_id
                        ),
                        json!({}),
                    )
                    .await?;
                    return self.submit(desk, record, false).await;
                }
                Err(e) if e.is_condition_failed() => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(StageError::Retryable(format!(
            "the approval of {} for {} keeps changing concurrently",
            action.app_id, action.user_id
        )))
    }

    fn new_record(
        &self,
        subject: &ApprovalSubject,
        device: &TargetDevice,
        round: u32,
        callback_url: &str,
    ) -> Result<ApprovalRecord, StageError> {
        let now = self.services.clock.now();
        let due_at = now + chrono::Duration::days(DUE_AFTER_DAYS);
        let action = &subject.action;
        let id = request_id(&action.user_id, &action.app_id, &device.device_id, round);
        let request = approval_request(subject, device, &id, due_at, callback_url)
            .map_err(StageError::Permanent)?;
        let r = &subject.requester;
        Ok(ApprovalRecord {
            request_id: id,
            round,
            state: ApprovalState::PendingApproval,
            action: action.clone(),
            device_id: device.device_id.clone(),
            uem_user_id: r.uem_user_id.clone(),
            app_name: subject.app.name.clone(),
            request,
            ticket: None,
            created_at: now,
            updated_at: now,
            due_at,
            decided_by: None,
            decided_at: None,
            notes: None,
            queued: false,
            last_error: None,
            claim_until: Some(now + chrono::Duration::seconds(CLAIM_SECONDS)),
        })
    }

    /// Sends a request again whose earlier send may have been lost, unless another opener is
    /// sending it right now.
    async fn resubmit(
        &self,
        desk: &dyn ServiceNowApi,
        request_id: &str,
    ) -> Result<ApprovalRecord, StageError> {
        let now = self.services.clock.now();
        let claimed = store::update(self.services.store.as_ref(), request_id, |r| {
            let awaiting = r.ticket.is_none()
                && matches!(
                    r.state,
                    ApprovalState::PendingApproval | ApprovalState::Error
                );
            let free = r.claim_until.is_none_or(|until| until <= now);
            if awaiting && free {
                r.claim_until = Some(now + chrono::Duration::seconds(CLAIM_SECONDS));
                true
            } else {
                false
            }
        })
        .await?;
        match claimed {
            Some((record, true)) => self.submit(desk, record, true).await,
            Some((record, false)) => Ok(record),
            None => Err(StageError::Retryable(format!(
                "approval {request_id} disappeared while being opened"
            ))),
        }
    }

    /// Posts the (claimed) request and records the ticket, or the failure.
    async fn submit(
        &self,
        desk: &dyn ServiceNowApi,
        record: ApprovalRecord,
        maybe_sent: bool,
    ) -> Result<ApprovalRecord, StageError> {
        let store = self.services.store.as_ref();
        match desk.open_request(&record.request, maybe_sent).await {
            Ok(ticket) => {
                let at = self.services.clock.now();
                let updated = store::update(store, &record.request_id, |r| {
                    r.claim_until = None;
                    if r.ticket.is_some() {
                        return false;
                    }
                    r.ticket = Some(ticket.clone());
                    r.updated_at = at;
                    r.last_error = None;
                    if r.state == ApprovalState::Error {
                        r.state = ApprovalState::PendingApproval;
                    }
                    true
                })
                .await?;
                let Some((record, ticketed)) = updated else {
                    return Err(StageError::Retryable(format!(
                        "approval {} disappeared while being opened",
                        record.request_id
                    )));
                };
                if ticketed {
                    self.audit_record(
                        &record,
                        AuditKind::ApprovalRequested,
                        format!(
                            "approval of {} for {} on device {} requested in ServiceNow as {}",
                            record.app_id(),
                            record.user_id(),
                            record.device_id,
                            ticket.number
                        ),
                        json!({"ticket": ticket.number, "ticket_sys_id": ticket.sys_id}),
                    )
                    .await?;
                    self.notify(Notice::new(
                        record.action.correlation_id.clone(),
                        NoticeBody::ApprovalNeeded {
                            user_id: record.user_id().clone(),
                            app_id: record.app_id().clone(),
                            app_name: record.app_name.clone(),
                            device_id: record.device_id.clone(),
                            reason: record.request.notes.clone(),
                            ticket_number: Some(ticket.number.clone()),
                            ticket_url: Some(ticket.url.clone()),
                        },
                    ))
                    .await;
                }
                Ok(record)
            }
            Err(error) => {
                let reason = error.to_string();
                let at = self.services.clock.now();
                let updated = store::update(store, &record.request_id, |r| {
                    r.claim_until = None;
                    r.updated_at = at;
                    r.last_error = Some(reason.clone());
                    if r.state == ApprovalState::PendingApproval && r.ticket.is_none() {
                        r.state = ApprovalState::Error;
                        true
                    } else {
                        false
                    }
                })
                .await?;
                let Some((record, failed_now)) = updated else {
                    return Err(StageError::Retryable(format!(
                        "approval {} disappeared while being opened",
                        record.request_id
                    )));
                };
                self.audit_record(
                    &record,
                    AuditKind::ApprovalChanged,
                    format!(
                        "could not open the approval of {} on device {} in ServiceNow: {reason}",
                        record.app_id(),
                        record.device_id
                    ),
                    json!({"error": reason, "retryable": error.is_retryable()}),
                )
                .await?;
                if failed_now {
                    self.notify(Notice::new(
                        record.action.correlation_id.clone(),
                        NoticeBody::NeedsHuman {
                            summary: format!(
                                "ServiceNow approval for {} ({}) could not be opened",
                                record.app_name,
                                record.user_id()
                            ),
                            detail: format!(
                                "Request {} is in Error: {reason}. It is tried again the next time this app is decided for the user.",
                                record.request_id
                            ),
                            user_id: Some(record.user_id().clone()),
                            app_id: Some(record.app_id().clone()),
                        },
                    ))
                    .await;
                }
                Ok(record)
            }
        }
    }

    /// Moves every pending request past its due date to Expired; returns them.
    #[tracing::instrument(skip_all)]
    pub async fn expire(&self) -> Result<Vec<ApprovalRecord>, StageError> {
        let store = self.services.store.as_ref();
        let now = self.services.clock.now();
        let mut expired = Vec::new();
        for record in store::list(store, Some(StateFilter::Pending)).await? {
            if record.due_at > now {
                continue;
            }
            let updated = store::update(store, &record.request_id, |r| {
                if r.state.awaits_decision() && r.due_at <= now {
                    r.state = ApprovalState::Expired;
                    r.updated_at = now;
                    r.claim_until = None;
                    true
                } else {
                    false
                }
            })
            .await?;
            if let Some((record, true)) = updated {
                self.audit_record(
                    &record,
                    AuditKind::ApprovalChanged,
                    format!(
                        "approval of {} for {} on device {} expired: no decision by {}",
                        record.app_id(),
                        record.user_id(),
                        record.device_id,
                        record.due_at.format("%Y-%m-%d %H:%M UTC")
                    ),
                    json!({"state": ApprovalState::Expired.as_str()}),
                )
                .await?;
                expired.push(record);
            }
        }
        Ok(expired)
    }

    /// UEM shows the app on the device: an approved request for it becomes Installed. Returns
    /// the request's state afterwards (`None` when the app was never asked for on the device).
    #[tracing::instrument(skip_all, fields(user = %user, app = %app))]
    pub async fn mark_installed(
        &self,
        user: &UserId,
        app: &AppId,
        device_id: &str,
    ) -> Result<Option<ApprovalState>, StageError> {
        let store = self.services.store.as_ref();
        let Some((pointer, _)) = store::target(store, user, app, device_id).await? else {
            return Ok(None);
        };
        let now = self.services.clock.now();
        let updated = store::update(store, &pointer.request_id, |r| {
            if r.state == ApprovalState::InstallCommandDispatched {
                r.state = ApprovalState::Installed;
                r.updated_at = now;
                true
            } else {
                false
            }
        })
        .await?;
        match updated {
            None => Ok(None),
            Some((record, moved)) => {
                if moved {
                    self.audit_record(
                        &record,
                        AuditKind::ApprovalChanged,
                        format!(
                            "{} is installed on device {} (UEM's device apps), as approved by {}",
                            record.app_id(),
                            record.device_id,
                            record.decided_by.as_deref().unwrap_or("an approver")
                        ),
                        json!({"state": ApprovalState::Installed.as_str()}),
                    )
                    .await?;
                }
                Ok(Some(record.state))
            }
        }
    }

    /// `loadout approvals`: the records in the filter's states, oldest first.
    pub async fn list(
        &self,
        filter: Option<StateFilter>,
    ) -> Result<Vec<ApprovalRecord>, StageError> {
        Ok(store::list(self.services.store.as_ref(), filter).await?)
    }

    /// Where a user's app stands with approvals (see [`store::approval_for`]).
    pub async fn approval_for(
        &self,
        user: &UserId,
        app: &AppId,
    ) -> Result<Option<ApprovalState>, StageError> {
        Ok(store::approval_for(self.services.store.as_ref(), user, app).await?)
    }

    async fn audit_record(
        &self,
        record: &ApprovalRecord,
        kind: AuditKind,
        summary: String,
        extra: serde_json::Value,
    ) -> Result<(), StageError> {
        let mut detail = json!({
            "request_id": record.request_id,
            "round": record.round,
            "device_id": record.device_id,
            "action_id": record.action.action_id,
            "state": record.state.as_str(),
            "ticket": record.ticket_number(),
        });
        if let (Some(d), serde_json::Value::Object(extra)) = (detail.as_object_mut(), extra) {
            d.extend(extra);
        }
        self.services
            .audit(
                AuditRecord::new(
                    self.services.clock.now(),
                    record.action.correlation_id.clone(),
                    kind,
                    "approve",
                    summary,
                )
                .user(record.user_id())
                .app(record.app_id())
                .policy(
                    &record.action.policy_version,
                    record
                        .action
                        .reasons
                        .iter()
                        .map(|r| r.rule_id.clone())
                        .collect(),
                )
                .detail(detail),
            )
            .await
    }

    async fn notify(&self, notice: Notice) -> Delivery {
        let s = &self.services;
        announce(
            self.notifier.as_ref(),
            s.audit.as_ref(),
            s.clock.as_ref(),
            &notice,
            NOTICE_LIMIT,
        )
        .await
    }
}

/// When `at` is, for a record read at `now` (age in whole days, for listings).
pub fn age_days(created_at: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    (now - created_at).num_days().max(0)
}
