//! The Reports API client: a service-account token, the report for a range (created or
//! found again), its run, polling its downloads until COMPLETED, and the download: a 302 whose
//! `Location` is a signed URL on another host, fetched without the bearer token (the signature
//! is the credential; the guide's sample request carries no `Authorization`), and read as a
//! stream of rows.

use super::budget::CallBudget;
use super::rows::{Fed, ForegroundRow, RowParser};
use super::{IntelligenceConfig, IntelligenceError, UsageReportSpec};
use crate::ports::secrets::keys;
use crate::ports::{SecretString, Secrets};
use crate::uem::retry_after;
use bytes::Bytes;
use rand::RngExt;
use reqwest::{Method, StatusCode, header};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// Renew this long before the token runs out (tokens live 3,599 s).
const RENEW_EARLY: Duration = Duration::from_secs(300);
/// Pages of report search read when looking for a report by name.
const MAX_SEARCH_PAGES: usize = 5;
/// Download statuses that mean the run will never complete (only COMPLETED is documented).
const FAILED_STATUSES: [&str; 5] = ["FAILED", "ERROR", "CANCELLED", "CANCELED", "EXPIRED"];

pub struct IntelligenceClient {
    config: IntelligenceConfig,
    http: reqwest::Client,
    storage: reqwest::Client,
    secrets: Arc<dyn Secrets>,
    token: tokio::sync::Mutex<Option<(String, Instant)>>,
    budget: CallBudget,
}

impl std::fmt::Debug for IntelligenceClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IntelligenceClient")
            .field("base_url", &self.config.base_url)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct TokenReply {
    access_token: String,
    expires_in: u64,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    errors: Vec<ErrorItem>,
}

#[derive(Deserialize)]
struct ErrorItem {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
    violated_property: Option<String>,
}

#[derive(Deserialize)]
struct Envelope<T> {
    data: T,
}

#[derive(Deserialize)]
struct WithId {
    id: String,
}

#[derive(Deserialize)]
struct Page<T> {
    #[serde(default)]
    total_count: usize,
    #[serde(default = "Vec::new")]
    results: Vec<T>,
}

#[derive(Deserialize)]
struct NamedReport {
    id: String,
    #[serde(default)]
    name: String,
}

#[derive(Debug, Clone, Deserialize)]
struct DownloadRecord {
    id: String,
    #[serde(default)]
    report_schedule_id: Option<String>,
    #[serde(default)]
    status: String,
}

/// A successful answer.
struct Reply {
    status: StatusCode,
    headers: header::HeaderMap,
    body: Bytes,
}

impl Reply {
    fn data<T: serde::de::DeserializeOwned>(&self, what: &str) -> Result<T, IntelligenceError> {
        serde_json::from_slice::<Envelope<T>>(&self.body)
            .map(|e| e.data)
            .map_err(|e| IntelligenceError::Decode(format!("{what}: {e}")))
    }
}

impl IntelligenceClient {
    pub fn new(
        config: IntelligenceConfig,
        secrets: Arc<dyn Secrets>,
    ) -> Result<Self, IntelligenceError> {
        let build = |total: Option<Duration>| {
            let mut b = reqwest::Client::builder()
                // Redirects are followed by hand: the storage host must not get the token.
                .redirect(reqwest::redirect::Policy::none())
                .connect_timeout(config.timeout.min(Duration::from_secs(10)))
                .read_timeout(config.timeout)
                .user_agent(concat!("loadout/", env!("CARGO_PKG_VERSION")));
            if let Some(t) = total {
                b = b.timeout(t);
            }
            b.build()
                .map_err(|e| IntelligenceError::Config(format!("HTTP client: {e}")))
        };
        Ok(Self {
            http: build(Some(config.timeout))?,
            // A report download may take minutes as a whole; only each read is bounded.
            storage: build(None)?,
            budget: CallBudget::new(config.calls_per_hour),
            config,
            secrets,
            token: tokio::sync::Mutex::new(None),
        })
    }

    /// API-host calls counted in the last hour (retries included).
    pub fn calls_in_last_hour(&self) -> u32 {
        self.budget.used()
    }

    /// Creates the report for `spec`, or finds the one an earlier run created (same name).
    #[tracing::instrument(skip_all)]
    pub async fn ensure_report(
        &self,
        spec: &UsageReportSpec,
    ) -> Result<(String, bool), IntelligenceError> {
        let body = spec.create_body();
        match self
            .call(Method::POST, "/v2/reports", Some(&body), "report")
            .await
        {
            Ok(reply) => Ok((reply.data::<WithId>("created report")?.id, true)),
            Err(IntelligenceError::Rejected { code, .. }) if code == "DUPLICATE-KEY" => {
                let id = self.find_report(&spec.name()).await?.ok_or_else(|| {
                    IntelligenceError::Decode(
                        "the report name is taken but no visible report has it (is it shared with the service account?)".into(),
                    )
                })?;
                Ok((id, false))
            }
            Err(e) => Err(e),
        }
    }

    /// The id of the report with exactly this name, if the service account can see it.
    pub async fn find_report(&self, name: &str) -> Result<Option<String>, IntelligenceError> {
        for page in 0..MAX_SEARCH_PAGES {
            let body = json!({
                "offset": page * 1000,
                "page_size": 1000,
                "sort_ons": [{"field": "modified_at", "order": "DESC"}],
                "search_terms": [{"value": name, "fields": ["name"], "operator": "CONTAINS"}],
            });
            let reply = self
                .call(
                    Method::POST,
                    "/v2/reports/search",
                    Some(&body),
                    "report search",
                )
                .await?;
            let found: Page<NamedReport> = reply.data("report search")?;
            if let Some(r) = found.results.iter().find(|r| r.name == name) {
                return Ok(Some(r.id.clone()));
            }
            if found.results.is_empty() || (page + 1) * 1000 >= found.total_count {
                break;
            }
        }
        Ok(None)
    }

    /// Starts a run; returns its schedule id (the download record's `report_schedule_id`).
    pub async fn run_report(&self, report_id: &str) -> Result<String, IntelligenceError> {
        let path = format!("/v2/reports/{}/run", segment(report_id)?);
        let reply = self.call(Method::POST, &path, None, "report").await?;
        Ok(reply.data::<WithId>("run")?.id)
    }

    /// The newest download records of a report (first page, newest first).
    async fn downloads(&self, report_id: &str) -> Result<Vec<DownloadRecord>, IntelligenceError> {
        let path = format!("/v2/reports/{}/downloads/search", segment(report_id)?);
        let body = json!({"offset": 0, "page_size": 100});
        let reply = self
            .call(Method::POST, &path, Some(&body), "report")
            .await?;
        Ok(reply.data::<Page<DownloadRecord>>("downloads")?.results)
    }

    /// Polls the report's downloads until the run's record is COMPLETED (its tracking id),
    /// waiting longer each time, and gives up at `deadline` with a retryable error.
    #[tracing::instrument(skip_all, fields(run_id))]
    pub async fn wait_for_download(
        &self,
        report_id: &str,
        run_id: &str,
        deadline: Instant,
    ) -> Result<String, IntelligenceError> {
        let started = Instant::now();
        let mut interval = self.config.first_poll;
        let mut last_status = "not listed yet".to_owned();
        loop {
            let now = Instant::now();
            if now >= deadline {
                return Err(IntelligenceError::StillPending {
                    run_id: run_id.to_owned(),
                    status: last_status,
                    waited: now - started,
                });
            }
            tokio::time::sleep(interval.min(deadline - now)).await;
            interval = interval.mul_f64(1.5).min(self.config.max_poll_interval);
            let records = self.downloads(report_id).await?;
            let Some(record) = records
                .iter()
                .find(|r| r.report_schedule_id.as_deref() == Some(run_id))
            else {
                continue;
            };
            let status = record.status.to_ascii_uppercase();
            if status == "COMPLETED" {
                return Ok(record.id.clone());
            }
            if FAILED_STATUSES.contains(&status.as_str()) {
                return Err(IntelligenceError::RunFailed {
                    run_id: run_id.to_owned(),
                    status,
                });
            }
            last_status = status;
        }
    }

    /// Asks where a completed run's file is (302) and opens it on the storage host.
    #[tracing::instrument(skip_all)]
    pub async fn open_download(&self, tracking_id: &str) -> Result<ReportRows, IntelligenceError> {
        let path = format!("/v2/reports/tracking/{}/download", segment(tracking_id)?);
        // A signed URL can expire between the redirect and the fetch: ask once more.
        for attempt in 0..2 {
            let reply = self
                .call(Method::GET, &path, None, "report download")
                .await?;
            if reply.status != StatusCode::FOUND {
                return Err(IntelligenceError::Decode(format!(
                    "the download answered HTTP {} instead of a redirect",
                    reply.status.as_u16()
                )));
            }
            let location = reply
                .headers
                .get(header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| IntelligenceError::Decode("a redirect without Location".into()))?;
            let url = reqwest::Url::parse(&self.config.base_url)
                .and_then(|base| base.join(location))
                .map_err(|e| IntelligenceError::Decode(format!("the download location: {e}")))?;
            if !(url.scheme() == "https" || url.host_str() == Some("127.0.0.1")) {
                return Err(IntelligenceError::Decode(
                    "the download location is not https".into(),
                ));
            }
            let response = self
                .storage
                .get(url)
                .send()
                .await
                .map_err(IntelligenceError::Transport)?;
            match response.status().as_u16() {
                200 => {
                    return Ok(ReportRows {
                        response,
                        parser: RowParser::default(),
                        pending: Bytes::new(),
                        pos: 0,
                        eof: false,
                        finished: false,
                    });
                }
                403 if attempt == 0 => continue,
                404 => {
                    return Err(IntelligenceError::NotFound {
                        what: "report file in storage".into(),
                    });
                }
                status => return Err(IntelligenceError::Storage { status }),
            }
        }
        Err(IntelligenceError::Storage { status: 403 })
    }

    /// The whole read: the report for `spec` (created or found again), a run (or the run an
    /// earlier, interrupted read started), the wait for it until `deadline`, and its rows.
    #[tracing::instrument(skip_all)]
    pub async fn read_usage(
        &self,
        spec: &UsageReportSpec,
        deadline: Instant,
    ) -> Result<ReportRows, IntelligenceError> {
        let (report_id, created) = self.ensure_report(spec).await?;
        if !created {
            // An earlier read made this report: reuse its completed run, or wait on its run.
            let records = self.downloads(&report_id).await?;
            if let Some(newest) = records.first() {
                let status = newest.status.to_ascii_uppercase();
                if status == "COMPLETED" {
                    return self.open_download(&newest.id).await;
                }
                if !FAILED_STATUSES.contains(&status.as_str())
                    && let Some(run_id) = &newest.report_schedule_id
                {
                    let tracking = self.wait_for_download(&report_id, run_id, deadline).await?;
                    return self.open_download(&tracking).await;
                }
            }
        }
        let run_id = self.run_report(&report_id).await?;
        let tracking = self
            .wait_for_download(&report_id, &run_id, deadline)
            .await?;
        self.open_download(&tracking).await
    }

    async fn secret(&self, key: &str) -> Result<SecretString, IntelligenceError> {
        self.secrets
            .get(key)
            .await
            .map_err(|e| IntelligenceError::Config(format!("{key}: {e}")))?
            .ok_or_else(|| IntelligenceError::Config(format!("the secret holds no {key}")))
    }

    /// A cached token, or a new one; a refused sign-in reads the secret again once.
    async fn token(&self) -> Result<String, IntelligenceError> {
        let mut slot = self.token.lock().await;
        if let Some((token, expires)) = slot.as_ref()
            && Instant::now() + RENEW_EARLY < *expires
        {
            return Ok(token.clone());
        }
        let mut reread = false;
        loop {
            let id = self.secret(keys::INTELLIGENCE_CLIENT_ID).await?;
            let secret = self.secret(keys::INTELLIGENCE_CLIENT_SECRET).await?;
            let url = format!(
                "{}{}grant_type=client_credentials",
                self.config.token_url,
                if self.config.token_url.contains('?') {
                    "&"
                } else {
                    "?"
                }
            );
            let response = self
                .http
                .post(url)
                .basic_auth(id.expose(), Some(secret.expose()))
                .header(header::ACCEPT, "application/json")
                .send()
                .await
                .map_err(IntelligenceError::Transport)?;
            let status = response.status().as_u16();
            let body = response
                .bytes()
                .await
                .map_err(IntelligenceError::Transport)?;
            match status {
                200 => {
                    let reply: TokenReply = serde_json::from_slice(&body)
                        .map_err(|e| IntelligenceError::Decode(format!("token reply: {e}")))?;
                    // A huge `expires_in` must not overflow the clock.
                    let life = Duration::from_secs(reply.expires_in.min(24 * 3600));
                    *slot = Some((reply.access_token.clone(), Instant::now() + life));
                    return Ok(reply.access_token);
                }
                400 | 401 | 403 if !reread => {
                    reread = true;
                    tracing::warn!(
                        status,
                        "Intelligence refused the service account; reading the secret again"
                    );
                    self.secrets
                        .refresh()
                        .await
                        .map_err(|e| IntelligenceError::Config(e.to_string()))?;
                }
                400 | 401 | 403 => {
                    return Err(IntelligenceError::Unauthorized {
                        status,
                        detail: oauth_error(&body),
                    });
                }
                status => {
                    return Err(IntelligenceError::Unavailable {
                        status,
                        retry_after: None,
                    });
                }
            }
        }
    }

    /// One API-host call with the bearer token, counted against the budget, retried on
    /// 429/5xx/transport errors (after `Retry-After` when given), re-signed once on 401/403.
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        what: &str,
    ) -> Result<Reply, IntelligenceError> {
        let url = format!("{}{path}", self.config.base_url);
        let mut attempt = 0;
        let mut resigned = false;
        loop {
            attempt += 1;
            let last = attempt >= self.config.max_attempts;
            self.budget.take().map_err(|(used, retry_after)| {
                IntelligenceError::BudgetExhausted { used, retry_after }
            })?;
            let token = self.token().await?;
            let mut request = self
                .http
                .request(method.clone(), &url)
                .bearer_auth(&token)
                .header(header::ACCEPT, "application/json");
            if let Some(b) = body {
                request = request.json(b);
            } else if method == Method::POST {
                request = request
                    .header(header::CONTENT_TYPE, "application/json")
                    .body("{}");
            }
            let sent = match request.send().await {
                Ok(r) => {
                    let status = r.status();
                    let headers = r.headers().clone();
                    r.bytes().await.map(|body| Reply {
                        status,
                        headers,
                        body,
                    })
                }
                Err(e) => Err(e),
            };
            let reply = match sent {
                Ok(reply) => reply,
                Err(e) if last => return Err(IntelligenceError::Transport(e)),
                Err(e) => {
                    tracing::warn!(attempt, error = %e, "Intelligence call failed; retrying");
                    tokio::time::sleep(backoff(attempt)).await;
                    continue;
                }
            };
            let status = reply.status.as_u16();
            match status {
                200..=399 => return Ok(reply),
                401 | 403 if !resigned => {
                    resigned = true;
                    attempt -= 1;
                    *self.token.lock().await = None;
                    self.secrets
                        .refresh()
                        .await
                        .map_err(|e| IntelligenceError::Config(e.to_string()))?;
                    continue;
                }
                401 | 403 => {
                    return Err(IntelligenceError::Unauthorized {
                        status,
                        detail: first_error(&reply.body).1,
                    });
                }
                404 => {
                    return Err(IntelligenceError::NotFound {
                        what: what.to_owned(),
                    });
                }
                429 | 500..=599 => {
                    let wait = retry_after(&reply.headers);
                    if last || wait.is_some_and(|w| w > self.config.max_retry_wait) {
                        return Err(IntelligenceError::Unavailable {
                            status,
                            retry_after: wait,
                        });
                    }
                    tracing::warn!(
                        attempt,
                        status,
                        ?wait,
                        "Intelligence throttling or failing; retrying"
                    );
                    tokio::time::sleep(wait.unwrap_or_else(|| backoff(attempt))).await;
                }
                _ => {
                    let (code, message, property) = first_error(&reply.body);
                    return Err(IntelligenceError::Rejected {
                        status,
                        code,
                        message,
                        property,
                    });
                }
            }
        }
    }
}

/// The rows of one report file, read as they arrive.
pub struct ReportRows {
    response: reqwest::Response,
    parser: RowParser,
    pending: Bytes,
    pos: usize,
    eof: bool,
    finished: bool,
}

impl ReportRows {
    /// The next foreground event, or `None` at the end of the file.
    pub async fn next_row(&mut self) -> Result<Option<ForegroundRow>, IntelligenceError> {
        loop {
            if self.finished {
                return Ok(None);
            }
            if self.pos < self.pending.len() {
                match self.parser.feed(&self.pending[self.pos..])? {
                    Fed::Row(row, used) => {
                        self.pos += used;
                        return Ok(Some(row));
                    }
                    Fed::NeedInput => self.pos = self.pending.len(),
                    Fed::End => self.finished = true,
                }
            } else if self.eof {
                match self.parser.feed(&[])? {
                    Fed::Row(row, _) => return Ok(Some(row)),
                    Fed::NeedInput | Fed::End => self.finished = true,
                }
            } else {
                match self
                    .response
                    .chunk()
                    .await
                    .map_err(IntelligenceError::Transport)?
                {
                    Some(chunk) => {
                        self.pending = chunk;
                        self.pos = 0;
                    }
                    None => self.eof = true,
                }
            }
        }
    }

    /// Data rows read so far, and those skipped (another event, no user, unreadable time).
    pub fn counts(&self) -> (u64, u64) {
        (self.parser.rows, self.parser.skipped)
    }
}

/// An id as one URL path segment; ids are UUIDs, anything else is refused.
fn segment(id: &str) -> Result<&str, IntelligenceError> {
    if id.is_empty() || id.len() > 64 || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err(IntelligenceError::Decode(format!(
            "not an Intelligence id: {id:?}"
        )));
    }
    Ok(id)
}

/// `code`, `message` and `violated_property` of the first error in the documented body.
fn first_error(body: &[u8]) -> (String, String, Option<String>) {
    serde_json::from_slice::<ErrorBody>(body)
        .ok()
        .and_then(|b| b.errors.into_iter().next())
        .map(|e| (e.code, e.message, e.violated_property))
        .unwrap_or_else(|| ("UNKNOWN".into(), "no error body".into(), None))
}

fn oauth_error(body: &[u8]) -> String {
    let v: Value = serde_json::from_slice(body).unwrap_or_default();
    match (v["error"].as_str(), v["error_description"].as_str()) {
        (Some(e), Some(d)) => format!("{e}: {d}"),
        (Some(e), None) => e.to_owned(),
        _ => "no error body".into(),
    }
}

/// 1 s doubling per attempt, capped at 16 s; half fixed, half random.
fn backoff(attempt: u32) -> Duration {
    let base = Duration::from_secs(1) * 2u32.saturating_pow(attempt.saturating_sub(1));
    base.min(Duration::from_secs(16))
        .mul_f64(rand::rng().random_range(0.5..=1.0))
}
