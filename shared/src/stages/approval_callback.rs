//! `POST /approvals/servicenow`: ServiceNow tells Loadout what an approver decided. (The same
//! function serves `GET /reclaim/keep`, the "keep it" link of reclamation notices:
//! `reclaim::keep`.)
//!
//! Authenticate (the callback token, or the previous one during a rotation), read the body,
//! then move the request with a conditional write: APPROVED queues exactly the stored action on
//! the FIFO `execute` queue (group = user, deduplicated per approved action), REJECTED ends it.
//! The request id alone decides what runs: a `device_id` that differs from the request's is
//! recorded and ignored. Answers: 200 (applied, or the same verdict again: no effect), 400
//! malformed, 401 bad credentials, 404 unknown request, 409 a different verdict after a
//! decision (or after expiry), 413 too large, 503 when Loadout cannot store or queue (ServiceNow
//! may retry). Every authenticated outcome is audited; unauthenticated calls are only logged, so
//! that strangers cannot write to the audit trail.

use super::{Services, StageError};
use crate::approvals::callback::{AuthFailure, CallbackBody, authenticate, parse_body};
use crate::approvals::store;
use crate::approvals::{
    ApprovalMark, ApprovalRecord, ApprovalState, Effect, QueuedAction, approved_dedup_id,
    on_verdict,
};
use crate::domain::{AuditKind, AuditRecord, CorrelationId, Envelope, EventId, MessageKind};
use crate::ports::queue::names;
use crate::ports::secrets::keys;
use crate::ports::{OutgoingMessage, SecretString};
use crate::servicenow::CALLBACK_PATH;
use crate::webhook::{ApiResponse, InboundRequest};
use chrono::{DateTime, Utc};
use http::Method;
use serde_json::json;

/// Every (method, path) that [`ApprovalCallback::handle`] serves; `openapi.yaml` documents them.
pub const ROUTES: &[(&str, &str)] = &[
    ("POST", CALLBACK_PATH),
    ("GET", super::reclaim::keep::KEEP_PATH),
];

/// A failed authentication re-reads the secret (a rotation) at most this often, so that forged
/// requests cannot hammer the secret store.
const REFRESH_EVERY_SECONDS: i64 = 30;

/// Correlation of refusals that name no known request.
const UNATTRIBUTED: &str = "approval-callback";

/// What a verdict did to the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Moved(ApprovalState),
    Repeat,
    Conflict(ApprovalState),
}

pub struct ApprovalCallback {
    services: Services,
    last_refresh: std::sync::Mutex<Option<DateTime<Utc>>>,
}

impl ApprovalCallback {
    pub fn new(services: Services) -> Self {
        Self {
            services,
            last_refresh: std::sync::Mutex::new(None),
        }
    }

    /// Serves one request. Never panics on input; every 4xx carries a JSON error body.
    #[tracing::instrument(skip_all)]
    pub async fn handle(&self, request: InboundRequest) -> ApiResponse {
        let path = request.path.trim_end_matches('/');
        // The "keep it" links of reclamation notices: people's one-click answers, like approvals.
        if path == super::reclaim::keep::KEEP_PATH {
            return super::reclaim::keep::handle(&self.services, &request).await;
        }
        if path != CALLBACK_PATH {
            return ApiResponse::error(404, "not_found", "no such route");
        }
        if request.method != Method::POST {
            return ApiResponse::error(405, "method_not_allowed", "use POST")
                .with_header("allow", "POST");
        }
        let limit = self.services.settings.max_body_bytes;
        if request.body.len() > limit {
            return ApiResponse::error(
                413,
                "payload_too_large",
                format!("the body exceeds {limit} bytes"),
            );
        }
        if let Err(response) = self.authenticate(&request).await {
            return response;
        }
        let body = match parse_body(&request.body) {
            Ok(b) => b,
            Err(problem) => {
                self.refuse(None, "malformed callback", json!({"problem": problem}))
                    .await;
                return ApiResponse::error(400, "malformed_body", problem);
            }
        };
        match self.apply(&body).await {
            Ok(response) => response,
            Err(e) => {
                tracing::error!(error = %e, request_id = %body.request_id, "callback not applied");
                ApiResponse::error(
                    503,
                    "unavailable",
                    "the decision could not be stored or queued; send it again",
                )
            }
        }
    }

    async fn secret(&self, key: &str) -> Result<Option<SecretString>, ApiResponse> {
        self.services.secrets.get(key).await.map_err(|e| {
            tracing::error!(error = %e, "secret store unavailable");
            ApiResponse::error(
                503,
                "unavailable",
                "credentials cannot be checked right now",
            )
        })
    }

    async fn check(
        &self,
        request: &InboundRequest,
    ) -> Result<Result<(), AuthFailure>, ApiResponse> {
        let Some(current) = self.secret(keys::SERVICENOW_CALLBACK_TOKEN).await? else {
            return Err(ApiResponse::error(
                503,
                "not_configured",
                "the ServiceNow callback token is not configured",
            ));
        };
        let previous = self
            .secret(&keys::previous(keys::SERVICENOW_CALLBACK_TOKEN))
            .await?;
        Ok(authenticate(
            request.header("authorization"),
            &current,
            previous.as_ref(),
        ))
    }

    /// Whether a failed check may re-read the secret now.
    fn may_refresh(&self) -> bool {
        let now = self.services.clock.now();
        let mut last = self.last_refresh.lock().unwrap_or_else(|p| p.into_inner());
        let due = last.is_none_or(|at| (now - at).num_seconds() >= REFRESH_EVERY_SECONDS);
        if due {
            *last = Some(now);
        }
        due
    }

    async fn authenticate(&self, request: &InboundRequest) -> Result<(), ApiResponse> {
        let mut verdict = self.check(request).await?;
        if verdict == Err(AuthFailure::Invalid) && self.may_refresh() {
            // The token may have been rotated since the secret was cached.
            if self.services.secrets.refresh().await.is_ok() {
                verdict = self.check(request).await?;
            }
        }
        match verdict {
            Ok(()) => Ok(()),
            Err(failure) => {
                tracing::warn!(?failure, "ServiceNow callback refused: credentials");
                Err(match failure {
                    AuthFailure::Missing => ApiResponse::error(
                        401,
                        "missing_credentials",
                        "send Authorization: Bearer <token> (or Basic)",
                    ),
                    AuthFailure::Invalid => ApiResponse::error(
                        401,
                        "invalid_credentials",
                        "the credentials are not valid",
                    ),
                }
                .with_header("www-authenticate", "Bearer realm=\"loadout\""))
            }
        }
    }

    async fn apply(&self, body: &CallbackBody) -> Result<ApiResponse, StageError> {
        let s = &self.services;
        let now = s.clock.now();
        let decided_at = body.updated_at.unwrap_or(now);
        let updated = store::update(s.store.as_ref(), &body.request_id, |r| {
            match on_verdict(r.state, body.verdict) {
                Effect::Move(next) => {
                    r.state = next;
                    r.decided_by = Some(body.updated_by.clone());
                    r.decided_at = Some(decided_at);
                    r.notes = body.notes.clone();
                    r.updated_at = now;
                    r.queued = false;
                    r.claim_until = None;
                    Outcome::Moved(next)
                }
                Effect::Repeat => Outcome::Repeat,
                Effect::Conflict => Outcome::Conflict(r.state),
            }
        })
        .await?;
        let (record, outcome) = match updated {
            None => {
                self.refuse(
                    None,
                    &format!("callback for unknown request {}", body.request_id),
                    json!({"request_id": body.request_id, "approval_status": body.verdict.as_str(), "updated_by": body.updated_by}),
                )
                .await;
                return Ok(ApiResponse::error(
                    404,
                    "unknown_request",
                    format!("no approval request {}", body.request_id),
                ));
            }
            Some((record, outcome)) => (record, outcome),
        };
        let mismatch = body
            .device_id
            .as_deref()
            .filter(|sent| *sent != record.device_id);
        if let Outcome::Conflict(state) = outcome {
            self.refuse(
                Some(&record),
                &format!(
                    "{} callback for {} refused: the request is {}",
                    body.verdict.as_str(),
                    record.request_id,
                    state.label()
                ),
                json!({"approval_status": body.verdict.as_str(), "updated_by": body.updated_by, "state": state.as_str()}),
            )
            .await;
            return Ok(ApiResponse::error(
                409,
                "conflict",
                format!(
                    "request {} is {}; {} cannot apply",
                    record.request_id,
                    state.label(),
                    body.verdict.as_str()
                ),
            ));
        }
        // Queue the approved action (again, when an earlier send did not complete).
        let record = if record.state == ApprovalState::InstallCommandDispatched && !record.queued {
            self.queue(&record).await?
        } else {
            record
        };
        let changed = matches!(outcome, Outcome::Moved(_));
        self.audit_decision(&record, body, changed, mismatch).await;
        let mut answer = json!({
            "request_id": record.request_id,
            "state": record.state.as_str(),
            "changed": changed,
        });
        if mismatch.is_some() {
            answer["ignored"] = json!(["device_id"]);
        }
        Ok(ApiResponse::json(200, &answer))
    }

    /// Puts exactly the stored action on the execute queue, marked as approved, then records
    /// that it is there.
    async fn queue(&self, record: &ApprovalRecord) -> Result<ApprovalRecord, StageError> {
        let s = &self.services;
        let mut action = record.action.clone();
        // The executor writes members by UEM user id: the request names it even when the held
        // action was recorded before the person was matched.
        if action.uem_user.is_none()
            && let Ok(id) = record.uem_user_id.trim().parse::<i64>()
        {
            action.uem_user = Some(crate::domain::UemTarget {
                id,
                username: String::new(),
            });
        }
        let action = &action;
        let payload = QueuedAction {
            action: action.clone(),
            approval: Some(ApprovalMark {
                request_id: record.request_id.clone(),
                ticket: record.ticket_number().map(str::to_owned),
                approved_by: record.decided_by.clone().unwrap_or_default(),
                approved_at: record.decided_at.unwrap_or(record.updated_at),
            }),
        };
        let envelope = Envelope::new(
            MessageKind::Action,
            EventId::new(format!("approval-{}", record.request_id)),
            action.correlation_id.clone(),
            s.clock.now(),
            payload,
        );
        let body =
            serde_json::to_string(&envelope).map_err(|e| StageError::Permanent(e.to_string()))?;
        s.queue
            .send(
                names::EXECUTE,
                vec![OutgoingMessage::fifo(
                    body,
                    action.user_id.as_str(),
                    approved_dedup_id(action),
                )],
            )
            .await?;
        let updated = store::update(s.store.as_ref(), &record.request_id, |r| {
            if r.state == ApprovalState::InstallCommandDispatched {
                r.queued = true;
            }
        })
        .await?;
        Ok(match updated {
            Some((record, ())) => record,
            None => record.clone(),
        })
    }

    async fn audit_decision(
        &self,
        record: &ApprovalRecord,
        body: &CallbackBody,
        changed: bool,
        mismatch: Option<&str>,
    ) {
        let s = &self.services;
        let (kind, summary) = if changed {
            (
                AuditKind::ApprovalDecided,
                format!(
                    "{} {} {} for {} on device {} ({}){}",
                    body.updated_by,
                    if record.state == ApprovalState::Rejected {
                        "rejected"
                    } else {
                        "approved"
                    },
                    record.app_id(),
                    record.user_id(),
                    record.device_id,
                    record.ticket_number().unwrap_or(&record.request_id),
                    if record.state == ApprovalState::InstallCommandDispatched {
                        ": install queued"
                    } else {
                        ""
                    }
                ),
            )
        } else {
            (
                AuditKind::EventDuplicate,
                format!(
                    "repeated {} callback for {}: no effect",
                    body.verdict.as_str(),
                    record.request_id
                ),
            )
        };
        let mut detail = json!({
            "request_id": record.request_id,
            "device_id": record.device_id,
            "action_id": record.action.action_id,
            "ticket": record.ticket_number(),
            "approval_status": body.verdict.as_str(),
            "updated_by": body.updated_by,
            "updated_at": body.updated_at,
            "state": record.state.as_str(),
            "queued": record.queued,
        });
        if let Some(sent) = mismatch {
            // Ignored: the request id decides the device. Recorded for whoever wires the flow.
            detail["device_id_mismatch"] = json!({"sent": sent, "requested": record.device_id});
        }
        let entry = AuditRecord::new(
            s.clock.now(),
            record.action.correlation_id.clone(),
            kind,
            format!("servicenow:{}", body.updated_by),
            summary,
        )
        .user(record.user_id())
        .app(record.app_id())
        .detail(detail);
        if let Err(e) = s.audit(entry).await {
            // The record already holds the decision and its approver; the move stands.
            tracing::error!(error = %e, request_id = %record.request_id, "could not audit a decision");
        }
    }

    async fn refuse(
        &self,
        record: Option<&ApprovalRecord>,
        summary: &str,
        detail: serde_json::Value,
    ) {
        let s = &self.services;
        let correlation = record
            .map(|r| r.action.correlation_id.clone())
            .unwrap_or_else(|| CorrelationId::new(UNATTRIBUTED));
        let mut entry = AuditRecord::new(
            s.clock.now(),
            correlation,
            AuditKind::ApprovalRefused,
            "approval-callback",
            summary,
        )
        .detail(detail);
        if let Some(r) = record {
            entry = entry.user(r.user_id()).app(r.app_id());
        }
        if let Err(e) = s.audit(entry).await {
            tracing::error!(error = %e, "could not audit a refused callback");
        }
    }
}
