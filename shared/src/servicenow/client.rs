//! Opening an approval request without ever making a duplicate ticket.
//!
//! A POST that fails in a way that leaves its effect unknown (a 5xx, a timeout, a connection
//! dropped after sending, a success answer that cannot be read) may have created the ticket. So
//! before the next POST of the same request id the client reads `sc_request` through the Table
//! API and returns the ticket it finds. Throttling (429) and refused connections are known not
//! to have created anything and are simply retried. Every retry waits with jitter, honours
//! `Retry-After`, and stops at the operation's deadline.

use super::auth::Authenticator;
use super::config::ServiceNowConfig;
use super::error::{ServiceNowError, transport};
use super::port::{ServiceNowApi, Ticket};
use super::request::ApprovalRequest;
use crate::ports::{Clock, Secrets};
use crate::retry::backoff_delay;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reqwest::{StatusCode, header};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// How one attempt failed, and whether it may have taken effect.
enum Failure {
    NotApplied(ServiceNowError),
    MaybeApplied(ServiceNowError),
}

pub struct ServiceNowClient {
    config: ServiceNowConfig,
    http: reqwest::Client,
    auth: Authenticator,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for ServiceNowClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceNowClient")
            .field("base_url", &self.config.base_url)
            .finish_non_exhaustive()
    }
}

impl ServiceNowClient {
    pub fn new(
        config: ServiceNowConfig,
        secrets: Arc<dyn Secrets>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, ServiceNowError> {
        let http = reqwest::Client::builder()
            .connect_timeout(config.timeout.min(Duration::from_secs(5)))
            // A redirect would carry the credentials elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("loadout/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ServiceNowError::NotConfigured(format!("HTTP client: {e}")))?;
        Ok(Self {
            auth: Authenticator::new(secrets, clock.clone()),
            config,
            http,
            clock,
        })
    }

    pub fn config(&self) -> &ServiceNowConfig {
        &self.config
    }

    fn remaining(&self, deadline: DateTime<Utc>) -> Duration {
        (deadline - self.clock.now()).to_std().unwrap_or_default()
    }

    /// Waits before the next attempt; false when the deadline leaves no time for one.
    async fn backoff(
        &self,
        attempt: u32,
        retry_after: Option<Duration>,
        deadline: DateTime<Utc>,
    ) -> bool {
        let wait = retry_after.unwrap_or_else(|| {
            backoff_delay(attempt, self.config.base_backoff, self.config.max_backoff)
        });
        let left = self.remaining(deadline);
        // Waiting past the deadline, or into its last moment, leaves no time for the call.
        if wait >= left || left - wait < Duration::from_millis(50) {
            return false;
        }
        self.clock.sleep(wait).await;
        true
    }

    /// One request with the current credentials; an answer's status, `Retry-After` and body.
    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        deadline: DateTime<Utc>,
    ) -> Result<(StatusCode, Option<Duration>, Value), Failure> {
        let authorization = self
            .auth
            .header(&self.http, &self.config)
            .await
            .map_err(Failure::NotApplied)?;
        let timeout = self.config.timeout.min(self.remaining(deadline));
        let sent = request
            .timeout(timeout.max(Duration::from_millis(1)))
            .header(header::AUTHORIZATION, authorization)
            .header(header::ACCEPT, "application/json")
            .send()
            .await;
        let response = match sent {
            Ok(r) => r,
            // Nothing reached the instance.
            Err(e) if e.is_connect() => return Err(Failure::NotApplied(transport(e))),
            Err(e) => return Err(Failure::MaybeApplied(transport(e))),
        };
        let status = response.status();
        let retry_after = crate::retry::retry_after(response.headers(), self.clock.now());
        let bytes = response
            .bytes()
            .await
            .map_err(|e| Failure::MaybeApplied(transport(e)))?;
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok((status, retry_after, body))
    }

    /// Maps a non-success answer: whether it may have been applied is for the caller to say.
    fn failure(status: StatusCode, retry_after: Option<Duration>, body: &Value) -> Failure {
        let code = status.as_u16();
        match code {
            401 | 403 => Failure::NotApplied(ServiceNowError::Unauthorized { status: code }),
            429 => Failure::NotApplied(ServiceNowError::Throttled { retry_after }),
            s if s >= 500 => Failure::MaybeApplied(ServiceNowError::Server { status: s }),
            s => {
                let text = |key: &str| {
                    body.get("error")
                        .and_then(|e| e.get(key))
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned()
                };
                let (message, detail) = (text("message"), text("detail"));
                let message = match (message.is_empty(), detail.is_empty()) {
                    (true, _) => format!("HTTP {s}"),
                    (false, true) => message,
                    (false, false) => format!("{message}: {detail}"),
                };
                Failure::NotApplied(ServiceNowError::Refused { status: s, message })
            }
        }
    }

    fn ticket_from(&self, record: &Value) -> Option<Ticket> {
        let text = |key: &str| {
            record
                .get(key)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let sys_id = text("sys_id")?;
        Some(Ticket {
            number: text("number")?,
            url: self.config.ticket_url(&sys_id),
            sys_id,
        })
    }

    async fn find_once(
        &self,
        request_id: &str,
        deadline: DateTime<Utc>,
    ) -> Result<Option<Ticket>, Failure> {
        let query = [
            ("sysparm_query", format!("u_uem_request_id={request_id}")),
            (
                "sysparm_fields",
                "sys_id,number,u_uem_request_id".to_owned(),
            ),
            ("sysparm_limit", "1".to_owned()),
        ];
        let request = self.http.get(self.config.requests_url()).query(&query);
        let (status, retry_after, body) = match self.send(request, deadline).await {
            Ok(answer) => answer,
            // A read changes nothing: every failure is safe to repeat.
            Err(Failure::MaybeApplied(e)) => return Err(Failure::NotApplied(e)),
            Err(f) => return Err(f),
        };
        if !status.is_success() {
            return Err(match Self::failure(status, retry_after, &body) {
                Failure::MaybeApplied(e) | Failure::NotApplied(e) => Failure::NotApplied(e),
            });
        }
        let rows = body
            .get("result")
            .and_then(Value::as_array)
            .ok_or_else(|| {
                Failure::NotApplied(ServiceNowError::Decode(
                    "the Table API answer has no result list".into(),
                ))
            })?;
        Ok(rows
            .iter()
            .filter(|r| r.get("u_uem_request_id").and_then(Value::as_str) == Some(request_id))
            .find_map(|r| self.ticket_from(r)))
    }

    async fn post_once(
        &self,
        request: &ApprovalRequest,
        deadline: DateTime<Utc>,
    ) -> Result<Ticket, Failure> {
        let body = serde_json::to_string(request)
            .map_err(|e| Failure::NotApplied(ServiceNowError::InvalidRequest(e.to_string())))?;
        let builder = self
            .http
            .post(self.config.approval_url())
            .header(header::CONTENT_TYPE, "application/json")
            .body(body);
        let (status, retry_after, answer) = self.send(builder, deadline).await?;
        if !status.is_success() {
            return Err(Self::failure(status, retry_after, &answer));
        }
        // The resource answers `{"result": {...}}`; a script that answers the object bare is read
        // the same way.
        let record = answer.get("result").unwrap_or(&answer);
        self.ticket_from(record).ok_or_else(|| {
            Failure::MaybeApplied(ServiceNowError::Decode(format!(
                "HTTP {} without a ticket number and sys_id",
                status.as_u16()
            )))
        })
    }

    /// Runs `step` until it succeeds, fails for good, or the deadline or attempt budget runs
    /// out. A 401/403 re-reads the secret once and tries again at once.
    async fn run<T, F, Fut>(&self, mut step: F) -> Result<T, ServiceNowError>
    where
        F: FnMut(DateTime<Utc>, u32) -> Fut,
        Fut: std::future::Future<Output = Result<T, ServiceNowError>>,
    {
        let deadline = self.clock.now()
            + chrono::Duration::from_std(self.config.deadline)
                .unwrap_or_else(|_| chrono::Duration::seconds(30));
        let mut reauthenticated = false;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let error = match step(deadline, attempt).await {
                Ok(value) => return Ok(value),
                Err(e) => e,
            };
            match &error {
                ServiceNowError::Unauthorized { .. } if !reauthenticated => {
                    reauthenticated = true;
                    tracing::warn!("ServiceNow refused the credentials; reading the secret again");
                    self.auth.reset().await?;
                    continue;
                }
                e if e.is_retryable() => {
                    let retry_after = match e {
                        ServiceNowError::Throttled { retry_after } => *retry_after,
                        _ => None,
                    };
                    tracing::warn!(attempt, error = %e, "ServiceNow call failed; retrying");
                    if attempt >= self.config.max_attempts
                        || !self.backoff(attempt, retry_after, deadline).await
                    {
                        return Err(ServiceNowError::GaveUp {
                            attempts: attempt,
                            last: Box::new(error),
                        });
                    }
                }
                _ => return Err(error),
            }
        }
    }
}

#[async_trait]
impl ServiceNowApi for ServiceNowClient {
    #[tracing::instrument(skip_all, fields(request_id = %request.request_id))]
    async fn open_request(
        &self,
        request: &ApprovalRequest,
        maybe_sent: bool,
    ) -> Result<Ticket, ServiceNowError> {
        request.validate()?;
        // Whether the last POST (of this call, or of an earlier one) may have created the ticket.
        let ambiguous = std::sync::atomic::AtomicBool::new(maybe_sent);
        let ambiguous = &ambiguous;
        self.run(|deadline, _| async move {
            use std::sync::atomic::Ordering::SeqCst;
            if ambiguous.load(SeqCst) {
                match self.find_once(&request.request_id, deadline).await {
                    Ok(Some(ticket)) => {
                        tracing::info!(number = %ticket.number, "found the ticket of an earlier attempt");
                        return Ok(ticket);
                    }
                    Ok(None) => ambiguous.store(false, SeqCst),
                    Err(Failure::NotApplied(e) | Failure::MaybeApplied(e)) => return Err(e),
                }
            }
            match self.post_once(request, deadline).await {
                Ok(ticket) => Ok(ticket),
                Err(Failure::NotApplied(e)) => Err(e),
                Err(Failure::MaybeApplied(e)) => {
                    ambiguous.store(true, SeqCst);
                    Err(e)
                }
            }
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(request_id = %request_id))]
    async fn find_ticket(&self, request_id: &str) -> Result<Option<Ticket>, ServiceNowError> {
        self.run(|deadline, _| async move {
            self.find_once(request_id, deadline)
                .await
                .map_err(|(Failure::NotApplied(e) | Failure::MaybeApplied(e))| e)
        })
        .await
    }
}
