//! Webhook intake: verify, deduplicate, queue. Answers within milliseconds; all decisions happen
//! downstream. Every refusal is audited (without secrets or the body).

use super::Services;
use crate::domain::{
    AuditKind, AuditRecord, CorrelationId, DomainEvent, Envelope, EventId, MessageKind,
};
use crate::keys;
use crate::ports::queue::names;
use crate::ports::secrets::keys as secret_keys;
use crate::ports::{Condition, OutgoingMessage, StateStoreExt};
use crate::webhook::{ApiResponse, InboundRequest, WebhookError, hris, standard_webhooks};
use http::Method;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// What intake remembers about an accepted event, keyed by the source's event id.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct InboundRecord {
    event_id: EventId,
    correlation_id: CorrelationId,
    /// False until the event is on the queue: a crash in between is repaired by the redelivery.
    queued: bool,
    envelope: Envelope<DomainEvent>,
}

pub struct Intake {
    services: Services,
}

impl Intake {
    pub fn new(services: Services) -> Self {
        Self { services }
    }

    /// Routes one HTTP request. Never panics on input; every 4xx carries a JSON error body.
    pub async fn handle(&self, request: InboundRequest) -> ApiResponse {
        let path = request.path.trim_end_matches('/');
        match (request.method.clone(), path) {
            (Method::GET, "/healthz") => ApiResponse::json(200, &json!({"status": "ok"})),
            (Method::POST, "/webhooks/hris") => self.hris(&request).await,
            (_, "/healthz" | "/webhooks/hris") => ApiResponse::error(
                405,
                "method_not_allowed",
                format!("{} is not allowed here", request.method),
            )
            .with_header("allow", if path == "/healthz" { "GET" } else { "POST" }),
            _ => ApiResponse::error(404, "not_found", format!("no route for {path}")),
        }
    }

    async fn hris(&self, request: &InboundRequest) -> ApiResponse {
        match self.verify_hris(request).await {
            Ok(event) => self.accept(event).await,
            Err(e) => self.reject("hris", request, e).await,
        }
    }

    async fn verify_hris(&self, request: &InboundRequest) -> Result<DomainEvent, WebhookError> {
        check_body(request, self.services.settings.max_body_bytes)?;
        let secret = self
            .services
            .secrets
            .get(secret_keys::HRIS_HMAC_SECRET)
            .await
            .map_err(|_| WebhookError::NotConfigured(secret_keys::HRIS_HMAC_SECRET))?
            .ok_or(WebhookError::NotConfigured(secret_keys::HRIS_HMAC_SECRET))?;
        let key = standard_webhooks::decode_secret(secret.expose())?;
        let verified = standard_webhooks::verify(
            request.header("webhook-id"),
            request.header("webhook-timestamp"),
            request.header("webhook-signature"),
            &request.body,
            &[key],
            self.services.clock.now(),
        )?;
        hris::normalize(&request.body, &verified.id)
    }

    /// Deduplicates on the source's event id, queues for enrichment, answers 202.
    async fn accept(&self, event: DomainEvent) -> ApiResponse {
        match self.try_accept(event).await {
            Ok(response) => response,
            Err(e) => {
                tracing::error!(error = %e, "could not accept an event; the sender will retry");
                ApiResponse::error(503, "unavailable", "could not store the event; retry later")
            }
        }
    }

    async fn try_accept(&self, event: DomainEvent) -> Result<ApiResponse, super::StageError> {
        let s = &self.services;
        let (pk, sk) = keys::inbound_event(event.source.as_str(), &event.source_event_id);
        let expires = s.clock.now().timestamp() + s.settings.idempotency_ttl.as_secs() as i64;
        let correlation = CorrelationId::generate();
        let envelope = Envelope::new(
            MessageKind::Event,
            event.event_id.clone(),
            correlation.clone(),
            event.occurred_at,
            event.clone(),
        );
        let record = InboundRecord {
            event_id: event.event_id.clone(),
            correlation_id: correlation,
            queued: false,
            envelope,
        };
        let (record, version, duplicate) = match s
            .store
            .put_as(&pk, &sk, &record, Some(expires), Condition::NotExists)
            .await
        {
            Ok(version) => (record, version, false),
            Err(e) if e.is_condition_failed() => {
                let Some((existing, version)) = s.store.get_as::<InboundRecord>(&pk, &sk).await?
                else {
                    return Err(super::StageError::Retryable(
                        "idempotency record vanished".into(),
                    ));
                };
                (existing, version, true)
            }
            Err(e) => return Err(e.into()),
        };
        if !record.queued {
            let body = serde_json::to_string(&record.envelope)
                .map_err(|e| super::StageError::Permanent(e.to_string()))?;
            s.queue
                .send(names::ENRICH, vec![OutgoingMessage::standard(body)])
                .await?;
            let mut queued = record.clone();
            queued.queued = true;
            // Losing this race only means another delivery also queued it; downstream dedupes.
            let _ = s
                .store
                .put_as(
                    &pk,
                    &sk,
                    &queued,
                    Some(expires),
                    Condition::Version(version),
                )
                .await;
        }
        let event = &record.envelope.payload;
        let kind = if duplicate {
            AuditKind::EventDuplicate
        } else {
            AuditKind::EventAccepted
        };
        let summary = if duplicate {
            format!(
                "repeated delivery of {} event {} ignored",
                event.source.as_str(),
                event.source_event_id
            )
        } else {
            format!(
                "{} {} event accepted",
                event.source.as_str(),
                event.kind.as_str()
            )
        };
        let mut audit = AuditRecord::new(
            s.clock.now(),
            record.correlation_id.clone(),
            kind,
            "intake",
            summary,
        )
        .event(&record.event_id)
        .detail(json!({"source": event.source.as_str(), "source_event_id": event.source_event_id, "kind": event.kind.as_str()}));
        if let Some(user) = &event.subject.user_id {
            audit = audit.user(user);
        }
        s.audit(audit).await?;
        Ok(ApiResponse::json(
            202,
            &json!({"event_id": record.event_id, "correlation_id": record.correlation_id}),
        ))
    }

    async fn reject(
        &self,
        source: &str,
        request: &InboundRequest,
        error: WebhookError,
    ) -> ApiResponse {
        let s = &self.services;
        let record = AuditRecord::new(
            s.clock.now(),
            CorrelationId::generate(),
            AuditKind::EventRejected,
            "intake",
            format!("{source} request refused: {}", error.code()),
        )
        .detail(json!({
            "source": source,
            "code": error.code(),
            "status": error.status(),
            "path": request.path,
            "body_bytes": request.body.len(),
        }));
        if let Err(e) = s.audit(record).await {
            tracing::error!(error = %e, "could not audit a rejected request");
        }
        tracing::info!(
            source,
            code = error.code(),
            status = error.status(),
            "request refused"
        );
        error.to_response()
    }
}

/// Size and media type, checked before anything reads the body.
pub fn check_body(request: &InboundRequest, limit: usize) -> Result<(), WebhookError> {
    if request.body.len() > limit {
        return Err(WebhookError::TooLarge {
            size: request.body.len(),
            limit,
        });
    }
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
