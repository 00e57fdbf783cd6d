//! The REST client's core: authentication (cached OAuth token, or Basic + tenant code), the
//! shared rate limit, retries with backoff, versioned Accept headers, error mapping and paging.
//! `api.rs` builds the `UemApi` operations on top of it.

use super::config::{UemAuth, UemConfig};
use super::port::UemError;
use super::rate_limit::RateLimiter;
use super::wire;
use crate::outbound::{self, BodyError};
use crate::ports::{Clock, StateStore};
use base64::Engine;
use chrono::{DateTime, Utc};
use rand::RngExt;
use reqwest::{Method, StatusCode, header};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// A guard against a server that never stops paging.
const MAX_PAGES: usize = 10_000;

/// The largest answer read. A page of 500 users or devices, or a smart group of tens of
/// thousands of members, is a few megabytes; anything past this is refused, not held.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// Whether a request may be sent again after an answer that leaves its effect unknown (5xx,
/// timeout, dropped connection). GETs, full PUTs and DELETEs may; a create may not (its caller
/// looks the object up before trying again).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replay {
    Safe,
    Unsafe,
}

/// One request: `version` goes into `Accept: application/json;version=N`; `what` names the
/// resource in a `NotFound`.
#[derive(Debug, Clone)]
pub struct Call<'a> {
    pub method: Method,
    pub path: String,
    pub query: Vec<(&'a str, String)>,
    pub version: u32,
    pub body: Option<Value>,
    pub replay: Replay,
    pub what: &'a str,
}

impl<'a> Call<'a> {
    pub fn new(method: Method, path: impl Into<String>, what: &'a str) -> Self {
        let replay = if method == Method::POST {
            Replay::Unsafe
        } else {
            Replay::Safe
        };
        Self {
            method,
            path: path.into(),
            query: Vec::new(),
            version: 1,
            body: None,
            replay,
            what,
        }
    }

    pub fn get(path: impl Into<String>, what: &'a str) -> Self {
        Self::new(Method::GET, path, what)
    }

    pub fn version(mut self, version: u32) -> Self {
        self.version = version;
        self
    }

    pub fn query(mut self, query: Vec<(&'a str, String)>) -> Self {
        self.query = query;
        self
    }

    pub fn body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }
}

/// A successful answer: status and parsed body (`Value::Null` when empty).
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

#[derive(Debug, Clone)]
struct Token {
    value: String,
    refresh_at: DateTime<Utc>,
}

/// A Workspace ONE UEM REST client; implements [`super::UemApi`].
pub struct UemClient {
    pub(crate) config: UemConfig,
    http: reqwest::Client,
    pub(crate) store: Arc<dyn StateStore>,
    pub(crate) clock: Arc<dyn Clock>,
    limiter: RateLimiter,
    /// Held while refreshing, so only one refresh happens at a time.
    token: tokio::sync::Mutex<Option<Token>>,
}

impl std::fmt::Debug for UemClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UemClient")
            .field("base_url", &self.config.base_url)
            .finish_non_exhaustive()
    }
}

impl UemClient {
    pub fn new(
        config: UemConfig,
        store: Arc<dyn StateStore>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, UemError> {
        if let UemAuth::Basic { .. } = config.auth
            && config.tenant_code.as_deref().is_none_or(str::is_empty)
        {
            return Err(UemError::Config(
                "Basic authentication needs the tenant code (aw-tenant-code)".into(),
            ));
        }
        // Redirects are never followed: they would carry aw-tenant-code (and, on the same host,
        // the credentials) wherever the Location says.
        let http = outbound::client(config.timeout, config.timeout.min(Duration::from_secs(10)))
            .map_err(|e| UemError::Config(format!("HTTP client: {e}")))?;
        let limiter = RateLimiter::new(
            store.clone(),
            clock.clone(),
            config.tenant_key(),
            config.requests_per_minute,
        );
        Ok(Self {
            config,
            http,
            store,
            clock,
            limiter,
            token: tokio::sync::Mutex::new(None),
        })
    }

    pub fn config(&self) -> &UemConfig {
        &self.config
    }

    /// The `Authorization` value for the next call (fetching a token when due).
    async fn authorization(&self) -> Result<String, UemError> {
        match &self.config.auth {
            UemAuth::Basic { username, password } => {
                let raw = format!("{username}:{}", password.expose());
                Ok(format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(raw)
                ))
            }
            UemAuth::OAuth { .. } => {
                let mut guard = self.token.lock().await;
                if let Some(t) = guard.as_ref()
                    && self.clock.now() < t.refresh_at
                {
                    return Ok(format!("Bearer {}", t.value));
                }
                let fresh = self.fetch_token().await?;
                let header = format!("Bearer {}", fresh.value);
                *guard = Some(fresh);
                Ok(header)
            }
        }
    }

    /// Forgets the token that was just refused (unless someone already replaced it).
    async fn invalidate(&self, refused: &str) {
        let mut guard = self.token.lock().await;
        if guard
            .as_ref()
            .is_some_and(|t| refused == format!("Bearer {}", t.value))
        {
            *guard = None;
        }
    }

    async fn fetch_token(&self) -> Result<Token, UemError> {
        let UemAuth::OAuth {
            token_url,
            client_id,
            client_secret,
        } = &self.config.auth
        else {
            return Err(UemError::Config("not an OAuth configuration".into()));
        };
        let mut last = UemError::Timeout;
        for attempt in 1..=self.config.max_attempts {
            let sent = self
                .http
                .post(token_url)
                .header(header::ACCEPT, "application/json")
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", client_id.as_str()),
                    ("client_secret", client_secret.expose()),
                ])
                .send()
                .await;
            let response = match sent {
                Ok(r) => r,
                Err(e) => {
                    last = transport(e);
                    self.backoff(attempt, None).await;
                    continue;
                }
            };
            let status = response.status();
            if status.is_redirection() {
                return Err(UemError::Redirected {
                    status: status.as_u16(),
                });
            }
            let bytes = read_body(response).await?;
            if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
                last = UemError::Server {
                    status: status.as_u16(),
                    activity_id: None,
                };
                self.backoff(attempt, None).await;
                continue;
            }
            if !status.is_success() {
                return Err(UemError::Unauthorized { activity_id: None });
            }
            let body: Value = serde_json::from_slice(&bytes)
                .map_err(|e| UemError::Decode(format!("token response: {e}")))?;
            let value = wire::text(&body, &["access_token"])
                .ok_or_else(|| UemError::Decode("token response without access_token".into()))?;
            // Whatever the server says, at most a day (and no panic on a huge number: the
            // release profile aborts on panic).
            let lifetime = wire::id(&body, &["expires_in"])
                .unwrap_or(3600)
                .clamp(1, MAX_TOKEN_LIFETIME_SECONDS);
            // Renew 5 minutes early (1/12 of shorter lifetimes), as UEM tooling does.
            let margin = (lifetime / 12).min(300);
            let now = self.clock.now();
            let refresh_at = chrono::Duration::try_seconds(lifetime - margin)
                .and_then(|ahead| now.checked_add_signed(ahead))
                .unwrap_or(now);
            return Ok(Token { value, refresh_at });
        }
        Err(last)
    }

    async fn backoff(&self, attempt: u32, retry_after: Option<Duration>) {
        let wait = match retry_after {
            Some(d) => d,
            None => {
                let exp = self
                    .config
                    .base_backoff
                    .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
                    .min(self.config.max_backoff);
                // Half fixed, half random: spreads retries of concurrent callers.
                let jitter: f64 = rand::rng().random_range(0.5..=1.0);
                exp.mul_f64(jitter)
            }
        };
        self.clock.sleep(wait).await;
    }

    /// One call with rate limiting, auth, retries and error mapping. 404 comes back as
    /// `NotFound { what }`.
    pub async fn call(&self, c: &Call<'_>) -> Result<Answer, UemError> {
        let (method, path, query, version, body, replay, what) = (
            &c.method,
            c.path.as_str(),
            &c.query,
            c.version,
            c.body.as_ref(),
            c.replay,
            c.what,
        );
        let url = format!("{}{}", self.config.base_url, path);
        let mut refreshed = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.limiter.acquire().await?;
            let authorization = self.authorization().await?;
            let mut request = self
                .http
                .request(method.clone(), &url)
                .query(query)
                .header(
                    header::ACCEPT,
                    format!("application/json;version={version}"),
                )
                .header(header::AUTHORIZATION, &authorization);
            if let Some(code) = &self.config.tenant_code {
                request = request.header("aw-tenant-code", code);
            }
            if let Some(b) = body {
                request = request
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(b.to_string());
            }
            let outcome = match request.send().await {
                Ok(response) if response.status().is_redirection() => {
                    return Err(UemError::Redirected {
                        status: response.status().as_u16(),
                    });
                }
                Ok(response) => {
                    let status = response.status();
                    let retry_after = retry_after(response.headers());
                    read_body(response)
                        .await
                        .map(|bytes| (status, retry_after, bytes))
                }
                Err(e) => Err(transport(e)),
            };
            let (status, retry_after, bytes) = match outcome {
                Ok(x) => x,
                Err(e) => {
                    if replay == Replay::Safe && attempt < self.config.max_attempts {
                        tracing::warn!(%path, attempt, error = %e, "UEM call failed; retrying");
                        self.backoff(attempt, None).await;
                        continue;
                    }
                    return Err(e);
                }
            };
            let parsed: Value = if bytes.is_empty() {
                Value::Null
            } else {
                serde_json::from_slice(&bytes).unwrap_or(Value::Null)
            };
            let (code, message, activity_id) = wire::error_parts(&parsed);
            if status.is_success() {
                // Some UEM endpoints report failures inside a 200 (uem-api.md §5).
                if let Some(code) = code.filter(|c| *c != 0) {
                    return Err(UemError::Validation {
                        status: status.as_u16(),
                        code: Some(code),
                        message: message.unwrap_or_default(),
                        activity_id,
                    });
                }
                if !bytes.is_empty() && parsed.is_null() && status != StatusCode::NO_CONTENT {
                    return Err(UemError::Decode(format!(
                        "{path}: the body is not JSON ({} bytes)",
                        bytes.len()
                    )));
                }
                return Ok(Answer {
                    status: status.as_u16(),
                    body: parsed,
                });
            }
            let error = match status.as_u16() {
                401 => UemError::Unauthorized { activity_id },
                403 => UemError::Forbidden { activity_id },
                404 => UemError::NotFound {
                    what: what.to_owned(),
                    activity_id,
                },
                429 => UemError::Throttled { retry_after },
                s if s >= 500 => UemError::Server {
                    status: s,
                    activity_id,
                },
                s => UemError::Validation {
                    status: s,
                    code,
                    message: message.unwrap_or_else(|| format!("HTTP {s}")),
                    activity_id,
                },
            };
            let may_retry = attempt < self.config.max_attempts;
            match &error {
                UemError::Unauthorized { .. }
                    if !refreshed && matches!(self.config.auth, UemAuth::OAuth { .. }) =>
                {
                    // An expired or revoked token: get a new one once; the call was not applied.
                    refreshed = true;
                    self.invalidate(&authorization).await;
                    attempt -= 1;
                    continue;
                }
                // Throttled calls were not applied, whatever the method.
                UemError::Throttled { retry_after }
                    if may_retry
                        && retry_after.is_none_or(|d| d <= self.config.max_retry_after) =>
                {
                    tracing::warn!(%path, attempt, ?retry_after, "UEM throttled; waiting");
                    self.backoff(attempt, *retry_after).await;
                    continue;
                }
                UemError::Server { .. } if may_retry && replay == Replay::Safe => {
                    tracing::warn!(%path, attempt, %error, "UEM server error; retrying");
                    self.backoff(attempt, None).await;
                    continue;
                }
                _ => return Err(error),
            }
        }
    }

    /// Every item of a v1 search (`page`/`pagesize`, list under `list_key`), page by page until
    /// `Total` is reached, a page is short or empty, or UEM answers 204. `stop` ends early once an
    /// item satisfies it.
    pub async fn search_all(
        &self,
        path: &str,
        query: &[(&str, String)],
        version: u32,
        list_key: &[&str],
        what: &str,
        mut stop: impl FnMut(&Value) -> bool,
    ) -> Result<Vec<Value>, UemError> {
        let size = self.config.page_size as usize;
        let mut items = Vec::new();
        for page in 0.. {
            let mut q: Vec<(&str, String)> = query.to_vec();
            q.push(("page", page.to_string()));
            q.push(("pagesize", size.to_string()));
            let answer = self
                .call(&Call::get(path, what).version(version).query(q))
                .await?;
            if answer.status == 204 || answer.body.is_null() {
                break;
            }
            let batch = wire::list(&answer.body, list_key);
            if batch.is_empty() {
                break;
            }
            let found = batch.iter().any(&mut stop);
            let count = batch.len();
            items.extend(batch.iter().cloned());
            // Trust `Total` when UEM sends it (a server may cap the page size below ours);
            // otherwise a short page is the last one.
            let last = match wire::total(&answer.body) {
                Some(total) => items.len() as u64 >= total,
                None => count < size,
            };
            if found || last || page >= MAX_PAGES {
                break;
            }
        }
        Ok(items)
    }
}

/// A token lifetime longer than this is taken as this long.
const MAX_TOKEN_LIFETIME_SECONDS: i64 = 24 * 3600;

/// The body of an answer, up to [`MAX_BODY_BYTES`].
async fn read_body(response: reqwest::Response) -> Result<bytes::Bytes, UemError> {
    outbound::read_body(response, MAX_BODY_BYTES)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge { limit } => UemError::TooLarge { limit },
            BodyError::Transport(e) => transport(e),
        })
}

fn transport(e: reqwest::Error) -> UemError {
    if e.is_timeout() {
        UemError::Timeout
    } else {
        UemError::Transport(e.to_string())
    }
}

pub(crate) fn retry_after(headers: &header::HeaderMap) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = DateTime::parse_from_rfc2822(value).ok()?;
    (at.with_timezone(&Utc) - Utc::now()).to_std().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbound::canned::{self, answer};

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let mut h = header::HeaderMap::new();
        h.insert(header::RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        let later = (Utc::now() + chrono::Duration::seconds(30)).to_rfc2822();
        h.insert(header::RETRY_AFTER, later.parse().unwrap());
        let d = retry_after(&h).unwrap();
        assert!(d <= Duration::from_secs(30) && d >= Duration::from_secs(28));
        h.insert(header::RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&h), None);
    }

    #[cfg(feature = "local")]
    fn client(config: UemConfig) -> UemClient {
        let clock: Arc<dyn crate::ports::Clock> = Arc::new(crate::ports::SystemClock);
        let store = Arc::new(crate::adapters::local::SqliteStateStore::new(
            crate::adapters::local::LocalDb::in_memory().expect("db"),
            clock.clone(),
        ));
        UemClient::new(config.requests_per_minute(0).max_attempts(1), store, clock).expect("client")
    }

    #[cfg(feature = "local")]
    #[tokio::test]
    async fn a_redirect_is_an_error_and_the_tenant_code_goes_nowhere_else() {
        let elsewhere = canned::start(|_| answer("200 OK", &[], b"{}")).await;
        let location = format!("{}/api/system/info", elsewhere.base_url);
        let uem =
            canned::start(move |_| answer("302 Found", &[("location", location.as_str())], b""))
                .await;
        let c = client(UemConfig::basic(
            &uem.base_url,
            "admin",
            crate::ports::SecretString::new("password-for-tests"),
            "TENANT-CODE-FOR-TESTS",
        ));
        let outcome = c.call(&Call::get("/api/system/info", "system info")).await;
        assert!(
            matches!(outcome, Err(UemError::Redirected { status: 302 })),
            "{:?}",
            outcome.map(|a| a.status)
        );
        assert!(
            elsewhere.seen().is_empty(),
            "followed to {:?}",
            elsewhere.seen()
        );
    }

    #[cfg(feature = "local")]
    #[tokio::test]
    async fn an_answer_larger_than_the_limit_is_refused() {
        let huge = format!("{{\"Pad\":\"{}\"}}", "x".repeat(MAX_BODY_BYTES));
        let uem = canned::start(move |_| {
            answer(
                "200 OK",
                &[("content-type", "application/json")],
                huge.as_bytes(),
            )
        })
        .await;
        let c = client(UemConfig::basic(
            &uem.base_url,
            "admin",
            crate::ports::SecretString::new("password-for-tests"),
            "TENANT-CODE-FOR-TESTS",
        ));
        let outcome = c.call(&Call::get("/api/system/info", "system info")).await;
        assert!(
            matches!(
                outcome,
                Err(UemError::TooLarge {
                    limit: MAX_BODY_BYTES
                })
            ),
            "{:?}",
            outcome.map(|a| a.status)
        );
    }

    #[cfg(feature = "local")]
    #[tokio::test]
    async fn a_token_that_never_expires_is_renewed_daily_not_a_panic() {
        let uem = canned::start(|head| {
            if head.starts_with("POST /connect/token") {
                let token = br#"{"access_token":"t0k","token_type":"Bearer","expires_in":9223372036854775807}"#;
                answer("200 OK", &[("content-type", "application/json")], token)
            } else {
                answer("200 OK", &[("content-type", "application/json")], b"{}")
            }
        })
        .await;
        let c = client(UemConfig::oauth(
            &uem.base_url,
            &format!("{}/connect/token", uem.base_url),
            "client",
            crate::ports::SecretString::new("client-secret-for-tests"),
        ));
        let outcome = c.call(&Call::get("/api/system/info", "system info")).await;
        assert!(outcome.is_ok(), "{:?}", outcome.map(|a| a.status));
        let refresh_at = c.token.lock().await.as_ref().map(|t| t.refresh_at);
        assert!(
            refresh_at.is_some_and(|at| at <= Utc::now() + chrono::Duration::days(1)),
            "{refresh_at:?}"
        );
    }
}
