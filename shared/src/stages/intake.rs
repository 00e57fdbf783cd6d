//! Webhook intake: verify, deduplicate, queue. Answers within milliseconds; all decisions happen
//! downstream. Every refusal is audited (without secrets or the body).
//!
//! One route per source (DESIGN.md, HTTP contract). Each handler checks size and media type,
//! authenticates the request as its sender does, normalizes the payload into domain events
//! (`webhook::<source>`), and queues each event once per source event id. Batches are accepted
//! item by item: a bad item is skipped and audited, the good ones are queued.

use super::inbound_secrets::{self, InboundSecretError};
use super::queue_once::{Claim, Once, Queued, queue_for_enrichment};
use super::refusal_sampler::{RefusalSampler, Verdict};
use super::{Services, StageError};
use crate::domain::{AuditKind, AuditRecord, CorrelationId, DomainEvent, EventId};
use crate::keys;
use crate::ports::secrets::keys as secret_keys;
use crate::webhook::graph::LifecycleNotice;
use crate::webhook::{
    ApiResponse, InboundRequest, Normalized, RotatingSecret, SkippedItem, WebhookError, bamboohr,
    graph, hris, okta, standard_webhooks, uem_events,
};
use futures::StreamExt;
use serde_json::json;

/// One HTTP route of intake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    endpoint: Endpoint,
}

/// What serves a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Health,
    OktaVerification,
    Okta,
    Graph,
    Hris,
    UemTestConnection,
    Uem,
}

const fn route(method: &'static str, path: &'static str, endpoint: Endpoint) -> Route {
    Route {
        method,
        path,
        endpoint,
    }
}

/// The one list of intake's routes: `Intake::handle` dispatches through it, the template's
/// HttpApi events of webhook-intake must be exactly these (shared/tests/infra_template.rs), and
/// `openapi.yaml` documents exactly these (shared/tests/webhook_intake.rs). A new route is a row
/// here, an `Endpoint`, a handler, an event in infra/template.yaml and a path in openapi.yaml;
/// the tests name whichever is missing.
pub const ROUTES: &[Route] = &[
    route("GET", "/healthz", Endpoint::Health),
    route("GET", "/webhooks/okta", Endpoint::OktaVerification),
    route("POST", "/webhooks/okta", Endpoint::Okta),
    route("POST", "/webhooks/graph", Endpoint::Graph),
    route("POST", "/webhooks/hris", Endpoint::Hris),
    // Workspace ONE UEM's "Test Connection" button.
    route("GET", "/webhooks/uem", Endpoint::UemTestConnection),
    route("POST", "/webhooks/uem", Endpoint::Uem),
];

/// The ids an accepted event was given (the original ones for a repeated delivery).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub source_event_id: String,
    pub event_id: EventId,
    pub correlation_id: CorrelationId,
    pub duplicate: bool,
}

/// How a source's 2xx answer looks: one event (`{"event_id", "correlation_id"}`) or a batch
/// (`{"accepted": [...], "skipped": [...]}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Single,
    Batch,
}

pub struct Intake {
    services: Services,
    /// Bounds the audit records refused requests write (per source and minute).
    refusals: RefusalSampler,
}

impl Intake {
    pub fn new(services: Services) -> Self {
        Self {
            services,
            refusals: RefusalSampler::default(),
        }
    }

    /// Routes one HTTP request. Never panics on input; every 4xx carries a JSON error body.
    pub async fn handle(&self, request: InboundRequest) -> ApiResponse {
        self.record_suppressed_refusals().await;
        let path = request.path.trim_end_matches('/');
        let served = ROUTES
            .iter()
            .find(|r| r.path == path && r.method == request.method.as_str());
        let Some(served) = served else {
            let allowed: Vec<&str> = ROUTES
                .iter()
                .filter(|r| r.path == path)
                .map(|r| r.method)
                .collect();
            if allowed.is_empty() {
                return ApiResponse::error(
                    404,
                    "not_found",
                    format!("no route for {}", clip(path)),
                );
            }
            return ApiResponse::error(
                405,
                "method_not_allowed",
                format!("{} is not allowed here", request.method),
            )
            .with_header("allow", allowed.join(", "));
        };
        match served.endpoint {
            Endpoint::Health => ApiResponse::json(200, &json!({"status": "ok"})),
            Endpoint::OktaVerification => self.okta_verification(&request).await,
            Endpoint::Okta => self.okta(&request).await,
            Endpoint::Graph => self.graph(&request).await,
            Endpoint::Hris => self.hris(&request).await,
            Endpoint::UemTestConnection => self.uem_test_connection(&request).await,
            Endpoint::Uem => self.uem(&request).await,
        }
    }

    // ---- Okta -------------------------------------------------------------------------------

    /// The one-time verification GET: the shared secret, then the challenge echoed as JSON.
    async fn okta_verification(&self, request: &InboundRequest) -> ApiResponse {
        let verified = async {
            check_size(request, self.services.settings.max_body_bytes)?;
            let secret = self.secret(secret_keys::OKTA_AUTHORIZATION).await?;
            okta::verify(request.header("authorization"), &secret)?;
            okta::challenge(request.header(okta::CHALLENGE_HEADER)).map(str::to_owned)
        }
        .await;
        match verified {
            Ok(challenge) => ApiResponse::json(200, &json!({"verification": challenge})),
            Err(e) => self.reject("okta", request, e).await,
        }
    }

    async fn okta(&self, request: &InboundRequest) -> ApiResponse {
        let normalized = async {
            check_body(request, self.services.settings.max_body_bytes)?;
            let secret = self.secret(secret_keys::OKTA_AUTHORIZATION).await?;
            okta::verify(request.header("authorization"), &secret)?;
            okta::normalize(&request.body)
        }
        .await;
        match normalized {
            Ok(n) => self.accept_all("okta", request, n, Shape::Batch).await,
            Err(e) => self.reject("okta", request, e).await,
        }
    }

    // ---- Microsoft Graph --------------------------------------------------------------------

    async fn graph(&self, request: &InboundRequest) -> ApiResponse {
        // The subscription handshake comes first, before any check of the (text/plain) body.
        if let Some(token) = request.query_param(graph::VALIDATION_TOKEN) {
            return match graph::validation_answer(token) {
                Ok(answer) => ApiResponse::text(200, answer),
                Err(e) => self.reject("graph", request, e).await,
            };
        }
        let batch = async {
            check_body(request, self.services.settings.max_body_bytes)?;
            let secret = self.secret(secret_keys::GRAPH_CLIENT_STATE).await?;
            graph::normalize(&request.body, &secret, self.services.clock.now())
        }
        .await;
        match batch {
            Ok(batch) => {
                for notice in &batch.lifecycle {
                    self.lifecycle_notice(notice).await;
                }
                if !batch.lifecycle.is_empty() && batch.normalized.events.is_empty() {
                    // Nothing to queue, but the notices were read: do not make Graph retry.
                    let mut n = batch.normalized;
                    n.skipped.retain(SkippedItem::is_refusal);
                    if let Some(first) = n.skipped.first() {
                        let error = first.error.clone();
                        self.audit_refusal("graph", request, &error, &n.skipped, Sampling::Always)
                            .await;
                    }
                    return batch_response(200, &[], &n.skipped);
                }
                self.accept_all("graph", request, batch.normalized, Shape::Batch)
                    .await
            }
            Err(e) => self.reject("graph", request, e).await,
        }
    }

    async fn lifecycle_notice(&self, notice: &LifecycleNotice) {
        let s = &self.services;
        tracing::warn!(
            subscription = %notice.subscription_id,
            event = %notice.event,
            "Graph lifecycle notification: {}",
            notice.advice()
        );
        let record = AuditRecord::new(
            s.clock.now(),
            CorrelationId::generate(),
            AuditKind::EventAccepted,
            "intake",
            format!(
                "graph lifecycle notification {}: {}",
                notice.event,
                notice.advice()
            ),
        )
        .detail(json!({
            "source": "graph",
            "lifecycle_event": notice.event,
            "subscription_id": notice.subscription_id,
        }));
        if let Err(e) = s.audit(record).await {
            tracing::error!(error = %e, "could not audit a Graph lifecycle notification");
        }
    }

    // ---- HR systems -------------------------------------------------------------------------

    async fn hris(&self, request: &InboundRequest) -> ApiResponse {
        if request.header(bamboohr::SIGNATURE_HEADER).is_some() {
            return self.bamboohr(request).await;
        }
        match self.verify_hris(request).await {
            Ok(event) => {
                self.accept_all("hris", request, Normalized::one(event), Shape::Single)
                    .await
            }
            Err(e) => self.reject("hris", request, e).await,
        }
    }

    async fn verify_hris(&self, request: &InboundRequest) -> Result<DomainEvent, WebhookError> {
        check_body(request, self.services.settings.max_body_bytes)?;
        let secret = self.secret(secret_keys::HRIS_HMAC_SECRET).await?;
        // The current key and, while the sender is switched over, the previous one.
        let keys = secret
            .values()
            .map(standard_webhooks::decode_secret)
            .collect::<Result<Vec<_>, _>>()?;
        let verified = standard_webhooks::verify(
            request.header("webhook-id"),
            request.header("webhook-timestamp"),
            request.header("webhook-signature"),
            &request.body,
            &keys,
            self.services.clock.now(),
        )?;
        hris::normalize(&request.body, &verified.id)
    }

    async fn bamboohr(&self, request: &InboundRequest) -> ApiResponse {
        let normalized = async {
            check_body(request, self.services.settings.max_body_bytes)?;
            let secret = self.secret(secret_keys::BAMBOOHR_HMAC_SECRET).await?;
            let keys: Vec<Vec<u8>> = secret.values().map(|k| k.as_bytes().to_vec()).collect();
            let signed_at = bamboohr::verify(
                &request.body,
                request.header(bamboohr::TIMESTAMP_HEADER),
                request.header(bamboohr::SIGNATURE_HEADER),
                &keys,
                self.services.clock.now(),
            )?;
            bamboohr::normalize(&request.body, signed_at)
        }
        .await;
        match normalized {
            // The field-based style is a batch; the event-based one a single event.
            Ok(n) if is_field_based(&request.body) => {
                self.accept_all("bamboohr", request, n, Shape::Batch).await
            }
            Ok(n) => self.accept_all("bamboohr", request, n, Shape::Single).await,
            Err(e) => self.reject("bamboohr", request, e).await,
        }
    }

    // ---- UEM event notifications ------------------------------------------------------------

    /// The console's "Test Connection": Basic auth, nothing else.
    async fn uem_test_connection(&self, request: &InboundRequest) -> ApiResponse {
        let verified = async {
            check_size(request, self.services.settings.max_body_bytes)?;
            let secret = self.secret(secret_keys::UEM_EVENTS_BASIC).await?;
            uem_events::verify(request.header("authorization"), &secret)
        }
        .await;
        match verified {
            Ok(()) => ApiResponse::json(200, &json!({"status": "ok"})),
            Err(e) => self.reject("uem", request, e).await,
        }
    }

    async fn uem(&self, request: &InboundRequest) -> ApiResponse {
        let normalized = async {
            check_body(request, self.services.settings.max_body_bytes)?;
            let secret = self.secret(secret_keys::UEM_EVENTS_BASIC).await?;
            uem_events::verify(request.header("authorization"), &secret)?;
            uem_events::normalize(&request.body)
        }
        .await;
        match normalized {
            Ok(n) => self.accept_all("uem", request, n, Shape::Single).await,
            Err(e) => self.reject("uem", request, e).await,
        }
    }

    // ---- shared -----------------------------------------------------------------------------

    /// The route's secret with its previous value; a missing or unreadable one is "not
    /// configured" (503, the sender retries), a weak one names the setting.
    async fn secret(&self, key: &'static str) -> Result<RotatingSecret, WebhookError> {
        match inbound_secrets::load(self.services.secrets.as_ref(), key).await {
            Ok(Some(secret)) => Ok(secret),
            Ok(None) => Err(WebhookError::NotConfigured(key)),
            Err(InboundSecretError::Invalid(invalid)) => Err(invalid.into()),
            Err(InboundSecretError::Unavailable { source, .. }) => {
                tracing::error!(error = %source, setting = key, "cannot read a webhook secret");
                Err(WebhookError::NotConfigured(key))
            }
        }
    }

    /// Queues every event of a verified payload and audits every refused item.
    ///
    /// * something queued (or a repeat of something queued): 202;
    /// * nothing to do (only types Loadout does not act on): 200 with the skipped items;
    /// * nothing usable and at least one item refused: the first refusal as the error answer,
    ///   so a sender with a wrong secret or shape learns it.
    async fn accept_all(
        &self,
        source: &'static str,
        request: &InboundRequest,
        normalized: Normalized,
        shape: Shape,
    ) -> ApiResponse {
        let origins: Vec<usize> = (0..normalized.events.len())
            .map(|n| normalized.origin(n))
            .collect();
        let Normalized {
            events, skipped, ..
        } = normalized;
        let refusals: Vec<SkippedItem> =
            skipped.iter().filter(|s| s.is_refusal()).cloned().collect();
        if events.is_empty()
            && let (Some(first), true) = (refusals.first(), refusals.len() == skipped.len())
        {
            // Nothing usable: the request as a whole is refused, with one (sampled) record, even
            // when it held thousands of forged items.
            let error = first.error.clone();
            self.audit_refusal(source, request, &error, &refusals, Sampling::PerMinute)
                .await;
            return error.to_response();
        }
        if let Some(first) = refusals.first() {
            // Something in the request was authenticated: its refused items are recorded, all
            // in one record.
            let error = first.error.clone();
            self.audit_refusal(source, request, &error, &refusals, Sampling::Always)
                .await;
        }
        if events.is_empty() {
            return batch_response(200, &[], &skipped);
        }
        let claims = match self.accept(events).await {
            Ok(claims) => claims,
            // Those already stored are repeats on the sender's retry; nothing is lost.
            Err(e) => {
                tracing::error!(error = %e, "could not accept events; the sender will retry");
                return ApiResponse::error(
                    503,
                    "unavailable",
                    "could not store the event; retry later",
                );
            }
        };
        let mut accepted = Vec::with_capacity(claims.len());
        let mut conflicts = Vec::new();
        for (claim, origin) in claims.into_iter().zip(origins) {
            match claim {
                Ok(a) => accepted.push(a),
                Err(source_event_id) => conflicts.push(SkippedItem {
                    index: origin,
                    error: WebhookError::IdempotencyConflict(source_event_id.clone()),
                    source_event_id: Some(source_event_id),
                }),
            }
        }
        if let Some(first) = conflicts.first() {
            let error = first.error.clone();
            self.audit_refusal(source, request, &error, &conflicts, Sampling::Always)
                .await;
            if accepted.is_empty() && skipped.iter().all(SkippedItem::is_refusal) {
                return error.to_response();
            }
        }
        let mut skipped = skipped;
        skipped.extend(conflicts);
        skipped.sort_by_key(|s| s.index);
        match (shape, accepted.as_slice()) {
            (Shape::Single, [one]) if skipped.is_empty() => single_response(one),
            _ => batch_response(202, &accepted, &skipped),
        }
    }

    /// One audit record for a refused request (or for the refused items of a request), unless
    /// sampling says this source has had its share of records this minute.
    async fn audit_refusal(
        &self,
        source: &'static str,
        request: &InboundRequest,
        error: &WebhookError,
        items: &[SkippedItem],
        sampling: Sampling,
    ) {
        let s = &self.services;
        let now = s.clock.now();
        tracing::info!(
            source,
            code = error.code(),
            status = error.status(),
            items = items.len(),
            "request refused"
        );
        if sampling == Sampling::PerMinute
            && self.refusals.admit(source, error.code(), now) == Verdict::Count
        {
            return;
        }
        let summary = if items.is_empty() {
            format!("{source} request refused: {}", error.code())
        } else {
            format!(
                "{source}: {} item(s) refused ({})",
                items.len(),
                error.code()
            )
        };
        let mut codes = std::collections::BTreeMap::<&str, usize>::new();
        for item in items {
            *codes.entry(item.error.code()).or_default() += 1;
        }
        let listed: Vec<_> = items
            .iter()
            .take(AUDITED_ITEMS)
            .map(|item| {
                json!({
                    "index": item.index,
                    "code": item.error.code(),
                    "source_event_id": item.source_event_id,
                })
            })
            .collect();
        let record = self.refusal_record(
            now,
            summary,
            json!({
                "source": source,
                "code": error.code(),
                "status": error.status(),
                "path": clip(&request.path),
                "method": request.method.as_str(),
                "body_bytes": request.body.len(),
                "item_count": items.len(),
                "items": listed,
                "codes": codes,
            }),
        );
        if let Err(e) = s.audit(record).await {
            tracing::error!(error = %e, "could not audit a refused request");
        }
    }

    /// The counts of refusals that sampling kept out of the audit in minutes now over.
    async fn record_suppressed_refusals(&self) {
        let now = self.services.clock.now();
        for counted in self.refusals.closed(now) {
            let record = self.refusal_record(
                now,
                format!(
                    "{} more {} request(s) refused in the minute from {} (not recorded one by one)",
                    counted.count,
                    counted.source,
                    counted.minute.to_rfc3339()
                ),
                json!({
                    "source": counted.source,
                    "suppressed": counted.count,
                    "minute": counted.minute,
                    "codes": counted.codes,
                }),
            );
            if let Err(e) = self.services.audit(record).await {
                tracing::error!(error = %e, "could not audit a count of refused requests");
            }
        }
    }

    /// A refusal's audit record, expiring after `LOADOUT_AUDIT_REFUSAL_TTL_DAYS`.
    fn refusal_record(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        summary: String,
        detail: serde_json::Value,
    ) -> AuditRecord {
        let record = AuditRecord::new(
            now,
            CorrelationId::generate(),
            AuditKind::EventRejected,
            "intake",
            summary,
        )
        .detail(detail);
        let expiry = self
            .services
            .settings
            .audit_refusal_ttl
            .and_then(|ttl| chrono::Duration::from_std(ttl).ok())
            .and_then(|ttl| now.checked_add_signed(ttl));
        match expiry {
            Some(at) => record.expires(at),
            None => record,
        }
    }

    /// Queues each event once per source event id (all new ones in one send) and audits each
    /// as accepted or repeated. An event whose id was used before for other content is not
    /// queued: its entry is `Err(source event id)`.
    async fn accept(
        &self,
        events: Vec<DomainEvent>,
    ) -> Result<Vec<Result<Accepted, String>>, StageError> {
        let s = &self.services;
        let items = events
            .into_iter()
            .map(|event| {
                let (pk, sk) = keys::inbound_event(event.source.as_str(), &event.source_event_id);
                Once {
                    pk,
                    sk,
                    event,
                    correlation_id: CorrelationId::generate(),
                }
            })
            .collect();
        let claims = queue_for_enrichment(s, items).await?;
        let audits: Vec<_> = claims
            .iter()
            .filter_map(|claim| match claim {
                Claim::New(q) => Some(self.audit_accepted(q, false)),
                Claim::Repeat(q) => Some(self.audit_accepted(q, true)),
                Claim::Conflict(_) => None,
            })
            .collect();
        let audited: Vec<Result<(), StageError>> = futures::stream::iter(audits)
            .buffered(AUDIT_CONCURRENCY)
            .collect()
            .await;
        audited.into_iter().collect::<Result<Vec<()>, _>>()?;
        Ok(claims
            .into_iter()
            .map(|claim| match claim {
                Claim::New(q) => Ok(accepted(q, false)),
                Claim::Repeat(q) => Ok(accepted(q, true)),
                Claim::Conflict(q) => Err(q.event.source_event_id),
            })
            .collect())
    }

    async fn audit_accepted(&self, queued: &Queued, duplicate: bool) -> Result<(), StageError> {
        let s = &self.services;
        let event = &queued.event;
        let (kind, summary) = if duplicate {
            (
                AuditKind::EventDuplicate,
                format!(
                    "repeated delivery of {} event {} ignored",
                    event.source.as_str(),
                    event.source_event_id
                ),
            )
        } else {
            (
                AuditKind::EventAccepted,
                format!(
                    "{} {} event accepted",
                    event.source.as_str(),
                    event.kind.as_str()
                ),
            )
        };
        let mut audit = AuditRecord::new(
            s.clock.now(),
            queued.correlation_id.clone(),
            kind,
            "intake",
            summary,
        )
        .event(&queued.event_id)
        .detail(json!({"source": event.source.as_str(), "source_event_id": event.source_event_id, "kind": event.kind.as_str()}));
        if let Some(user) = &event.subject.user_id {
            audit = audit.user(user);
        }
        s.audit(audit).await
    }

    /// Answers a refused request, auditing it within the per-minute sample.
    async fn reject(
        &self,
        source: &'static str,
        request: &InboundRequest,
        error: WebhookError,
    ) -> ApiResponse {
        self.audit_refusal(source, request, &error, &[], Sampling::PerMinute)
            .await;
        error.to_response()
    }
}

/// Whether a refusal's record counts against the per-minute sample of its source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sampling {
    /// Nothing authenticated the request: anybody may send any number of these.
    PerMinute,
    /// Part of the request was authenticated: always recorded.
    Always,
}

/// Refused items named one by one in a refusal's record; the rest are counted by code.
const AUDITED_ITEMS: usize = 20;

fn accepted(queued: Queued, duplicate: bool) -> Accepted {
    Accepted {
        source_event_id: queued.event.source_event_id,
        event_id: queued.event_id,
        correlation_id: queued.correlation_id,
        duplicate,
    }
}

/// Audit writes in flight at once for one batch.
const AUDIT_CONCURRENCY: usize = 16;

fn single_response(a: &Accepted) -> ApiResponse {
    ApiResponse::json(
        202,
        &json!({"event_id": a.event_id, "correlation_id": a.correlation_id}),
    )
}

fn batch_response(status: u16, accepted: &[Accepted], skipped: &[SkippedItem]) -> ApiResponse {
    let accepted_json: Vec<_> = accepted
        .iter()
        .map(|a| {
            json!({
                "source_event_id": a.source_event_id,
                "event_id": a.event_id,
                "correlation_id": a.correlation_id,
                "duplicate": a.duplicate,
            })
        })
        .collect();
    let skipped_json: Vec<_> = skipped
        .iter()
        .map(|s| {
            json!({
                "index": s.index,
                "source_event_id": s.source_event_id,
                "code": s.error.code(),
                "message": s.error.to_string(),
            })
        })
        .collect();
    let mut body = json!({"accepted": accepted_json, "skipped": skipped_json});
    if let [one] = accepted {
        body["event_id"] = json!(one.event_id);
        body["correlation_id"] = json!(one.correlation_id);
    }
    ApiResponse::json(status, &body)
}

fn is_field_based(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body)
        .map(|v| v.get("employees").is_some())
        .unwrap_or(false)
}

/// Paths are echoed in errors and audit records: bounded, so a long URL cannot bloat either.
fn clip(path: &str) -> String {
    path.chars().take(200).collect()
}

/// Size only, for requests whose body is not read (GET).
pub fn check_size(request: &InboundRequest, limit: usize) -> Result<(), WebhookError> {
    if request.body.len() > limit {
        return Err(WebhookError::TooLarge {
            size: request.body.len(),
            limit,
        });
    }
    Ok(())
}

/// Size and media type, checked before anything reads the body.
pub fn check_body(request: &InboundRequest, limit: usize) -> Result<(), WebhookError> {
    check_size(request, limit)?;
    let content_type = request.header("content-type").unwrap_or("");
    let media = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if media != "application/json" {
        return Err(WebhookError::UnsupportedMediaType(
            content_type.chars().take(100).collect(),
        ));
    }
    Ok(())
}
