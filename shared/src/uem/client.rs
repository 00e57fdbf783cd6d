//! The REST client's core: authentication (cached OAuth token, or Basic + tenant code), the
//! shared rate limit, retries with backoff, versioned Accept headers, error mapping and paging.
//! `api.rs` builds the `UemApi` operations on top of it.

use super::config::{UemAuth, UemConfig};
use super::port::UemError;
use super::rate_limit::{InitialFill, RateLimiter};
use super::wire;
use crate::deadline;
use crate::outbound::{self, BodyError};
use crate::ports::{Clock, Secrets, StateStore};
use base64::Engine;
use chrono::{DateTime, Utc};
use rand::RngExt;
use reqwest::{Method, StatusCode, header};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;

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

/// Where fresh credentials come from after UEM refuses the ones in use (a rotation in Secrets
/// Manager): the secret, read again, and the settings the client was built from.
#[derive(Clone)]
pub struct CredentialSource {
    pub secrets: Arc<dyn Secrets>,
    pub base_url: String,
    pub token_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
struct Credentials {
    auth: UemAuth,
    tenant_code: Option<String>,
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
    /// The credentials in use; replaced when a refusal leads to a re-read of the secret.
    credentials: std::sync::RwLock<Credentials>,
    source: Option<CredentialSource>,
    /// Held while re-reading the secret, so concurrent refusals re-read it once.
    reloading: tokio::sync::Mutex<()>,
    /// Requests sent (every attempt counts: it is what UEM's budget sees).
    sent: std::sync::atomic::AtomicU64,
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
        let credentials = Credentials {
            auth: config.auth.clone(),
            tenant_code: config.tenant_code.clone(),
        };
        Ok(Self {
            config,
            http,
            store,
            clock,
            limiter,
            token: tokio::sync::Mutex::new(None),
            credentials: std::sync::RwLock::new(credentials),
            source: None,
            reloading: tokio::sync::Mutex::new(()),
            sent: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// Requests sent to UEM so far (token requests included).
    pub fn requests_sent(&self) -> u64 {
        self.sent.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Re-reads the credentials from `source` after UEM refuses the ones in use, so that a
    /// rotation needs no redeploy.
    pub fn with_credential_source(mut self, source: CredentialSource) -> Self {
        self.source = Some(source);
        self
    }

    /// How a bucket nobody has used yet starts (benchmarks model a tenant already in use).
    pub fn with_initial_budget(mut self, fill: InitialFill) -> Self {
        self.limiter = RateLimiter::new(
            self.store.clone(),
            self.clock.clone(),
            self.config.tenant_key(),
            self.config.requests_per_minute,
        )
        .with_initial_fill(fill);
        self
    }

    pub fn config(&self) -> &UemConfig {
        &self.config
    }

    fn current_credentials(&self) -> Credentials {
        self.credentials
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Reads the secret again; true when it now holds other credentials than the ones refused.
    async fn reload_credentials(&self, refused: &Credentials) -> Result<bool, UemError> {
        let Some(source) = &self.source else {
            return Ok(false);
        };
        let _turn = self.reloading.lock().await;
        if self.current_credentials() != *refused {
            // Someone else re-read it while we waited.
            return Ok(true);
        }
        source
            .secrets
            .refresh()
            .await
            .map_err(|e| UemError::Config(format!("re-reading the secret: {e}")))?;
        let fresh = UemConfig::from_secrets(
            source.secrets.as_ref(),
            &source.base_url,
            source.token_url.as_deref(),
        )
        .await?;
        let fresh = Credentials {
            auth: fresh.auth,
            tenant_code: fresh.tenant_code,
        };
        if fresh == *refused {
            return Ok(false);
        }
        tracing::info!("UEM credentials changed in the secret; using the new ones");
        *self.credentials.write().unwrap_or_else(|p| p.into_inner()) = fresh;
        *self.token.lock().await = None;
        Ok(true)
    }

    /// Sleeps `wait`, unless that would outlast the invocation's deadline.
    pub(crate) async fn pause(&self, wait: Duration) -> Result<(), UemError> {
        if !deadline::allows(self.clock.now(), wait) {
            return Err(UemError::OutOfTime { needed: wait });
        }
        self.clock.sleep(wait).await;
        Ok(())
    }

    /// The `Authorization` value for the next call (fetching a token when due).
    async fn authorization(&self, credentials: &Credentials) -> Result<String, UemError> {
        match &credentials.auth {
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
                let fresh = self.fetch_token(&credentials.auth).await?;
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

    async fn fetch_token(&self, auth: &UemAuth) -> Result<Token, UemError> {
        let UemAuth::OAuth {
            token_url,
            client_id,
            client_secret,
        } = auth
        else {
            return Err(UemError::Config("not an OAuth configuration".into()));
        };
        let mut last = UemError::Timeout;
        for attempt in 1..=self.config.max_attempts {
            self.sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
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
                .instrument(tracing::debug_span!("uem.http"))
                .await;
            let response = match sent {
                Ok(r) => r,
                Err(e) => {
                    last = transport(e);
                    self.backoff(attempt, None).await?;
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
                self.backoff(attempt, None).await?;
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

    async fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Result<(), UemError> {
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
        self.pause(wait).await
    }

    /// One call with rate limiting, auth, retries and error mapping. 404 comes back as
    /// `NotFound { what }`. Every wait (the shared budget, a backoff, a `Retry-After`) is bounded
    /// by the invocation's deadline ([`crate::deadline`]).
    #[tracing::instrument(level = "debug", name = "uem.call", skip_all)]
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
        let mut reloaded = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.limiter.acquire().await?;
            let credentials = self.current_credentials();
            let authorization = match self.authorization(&credentials).await {
                Ok(a) => a,
                // The token endpoint refused the client secret: it may have been rotated.
                Err(UemError::Unauthorized { .. })
                    if !reloaded && self.reload_credentials(&credentials).await? =>
                {
                    reloaded = true;
                    attempt -= 1;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let mut request = self
                .http
                .request(method.clone(), &url)
                .query(query)
                .header(
                    header::ACCEPT,
                    format!("application/json;version={version}"),
                )
                .header(header::AUTHORIZATION, &authorization);
            if let Some(code) = &credentials.tenant_code {
                request = request.header("aw-tenant-code", code);
            }
            if let Some(b) = body {
                request = request
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(b.to_string());
            }
            self.sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            // UEM's own time, apart from the budget and token waits around it (`uem.call`).
            let sent = async {
                let response = request.send().await.map_err(transport)?;
                if response.status().is_redirection() {
                    return Ok(Err(response.status().as_u16()));
                }
                let status = response.status();
                let retry_after = retry_after(response.headers());
                read_body(response)
                    .await
                    .map(|bytes| Ok((status, retry_after, bytes)))
            }
            .instrument(tracing::debug_span!("uem.http"))
            .await;
            let outcome = match sent {
                Ok(Err(status)) => return Err(UemError::Redirected { status }),
                Ok(Ok(answer)) => Ok(answer),
                Err(e) => Err(e),
            };
            let (status, retry_after, bytes) = match outcome {
                Ok(x) => x,
                Err(e) => {
                    if replay == Replay::Safe && attempt < self.config.max_attempts {
                        tracing::warn!(%path, attempt, error = %e, "UEM call failed; retrying");
                        self.backoff(attempt, None).await?;
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
                    if !refreshed && matches!(credentials.auth, UemAuth::OAuth { .. }) =>
                {
                    // An expired or revoked token: get a new one once; the call was not applied.
                    refreshed = true;
                    self.invalidate(&authorization).await;
                    attempt -= 1;
                    continue;
                }
                // Refused credentials may have been rotated in the secret: read it again once.
                UemError::Unauthorized { .. } | UemError::Forbidden { .. }
                    if !reloaded && self.reload_credentials(&credentials).await? =>
                {
                    reloaded = true;
                    refreshed = false;
                    attempt -= 1;
                    continue;
                }
                // Throttled calls were not applied, whatever the method. UEM's `Retry-After`
                // holds for the whole tenant, so it pauses every caller of the shared budget,
                // not just this one.
                UemError::Throttled { retry_after } => {
                    if let Some(wait) = retry_after {
                        self.limiter.pause_for(*wait).await?;
                    }
                    if !may_retry || retry_after.is_some_and(|d| d > self.config.max_retry_after) {
                        return Err(error);
                    }
                    tracing::warn!(%path, attempt, ?retry_after, "UEM throttled; waiting");
                    if retry_after.is_none() || self.limiter.is_unlimited() {
                        self.backoff(attempt, *retry_after).await?;
                    }
                    // With a Retry-After, the next `acquire` waits out the shared pause.
                    continue;
                }
                UemError::Server { .. } if may_retry && replay == Replay::Safe => {
                    tracing::warn!(%path, attempt, %error, "UEM server error; retrying");
                    self.backoff(attempt, None).await?;
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
