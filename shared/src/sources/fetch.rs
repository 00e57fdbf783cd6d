//! One GET against a directory API, retried the way both Graph and BambooHR ask: throttling
//! (429, 503) after `Retry-After`, other 5xx and broken connections with backoff. Reads are safe
//! to repeat, so every attempt is.

use super::SourceError;
use crate::outbound::{self, BodyError};
use crate::uem::retry_after;
use rand::RngExt;
use reqwest::header::{self, HeaderMap};
use std::time::Duration;

/// The largest answer read from a directory: a page of 999 members or a user with their
/// attributes is far smaller; anything past this is refused, not held.
pub(super) const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// What the source answered, for the reader to map (success, 401, 404, ...).
#[derive(Debug)]
pub(super) struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: bytes::Bytes,
}

impl Reply {
    /// A 200's JSON body, `None` on 404 (the source no longer has it), typed errors otherwise;
    /// `reason` says why a refusal happened (each source puts it elsewhere: body or header).
    pub fn json<T: serde::de::DeserializeOwned>(
        &self,
        source_name: &'static str,
        reason: impl Fn(&Reply) -> String,
    ) -> Result<Option<T>, SourceError> {
        match self.status {
            200 if is_json(&self.headers) => {
                serde_json::from_slice(&self.body)
                    .map(Some)
                    .map_err(|e| SourceError::Decode {
                        source_name,
                        detail: e.to_string(),
                    })
            }
            200 => Err(SourceError::Decode {
                source_name,
                detail: "the answer is not JSON".into(),
            }),
            404 => Ok(None),
            status @ (401 | 403) => Err(SourceError::Unauthorized {
                source_name,
                status,
                detail: reason(self),
            }),
            status => Err(SourceError::Rejected {
                source_name,
                status,
                detail: reason(self),
            }),
        }
    }
}

#[derive(Debug, Clone)]
pub(super) struct Fetcher {
    http: reqwest::Client,
    source_name: &'static str,
    max_attempts: u32,
    /// A longer `Retry-After` is not waited out inside one event: the queue redelivers it later.
    max_wait: Duration,
}

impl Fetcher {
    pub fn new(source_name: &'static str, timeout: Duration) -> Result<Self, SourceError> {
        // Redirects are never followed: the credentials would travel with them.
        let http = outbound::client(timeout, timeout.min(Duration::from_secs(5))).map_err(|e| {
            SourceError::Config {
                source_name,
                detail: format!("HTTP client: {e}"),
            }
        })?;
        Ok(Self {
            http,
            source_name,
            max_attempts: 4,
            max_wait: Duration::from_secs(10),
        })
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// GETs `url`; `prepare` adds the auth and accept headers to each attempt.
    pub async fn get(
        &self,
        url: &str,
        prepare: impl Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> Result<Reply, SourceError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let last = attempt >= self.max_attempts;
            let outcome = match prepare(self.http.get(url)).send().await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    if response.status().is_redirection() {
                        return Err(SourceError::Redirected {
                            source_name: self.source_name,
                            status,
                        });
                    }
                    let headers = response.headers().clone();
                    match self.body(response).await? {
                        Ok(body) => Ok(Reply {
                            status,
                            headers,
                            body,
                        }),
                        Err(detail) => Err(detail),
                    }
                }
                Err(e) => Err(e.to_string()),
            };
            let reply = match outcome {
                Ok(reply) => reply,
                Err(detail) if last => {
                    return Err(SourceError::Transport {
                        source_name: self.source_name,
                        detail,
                    });
                }
                Err(detail) => {
                    tracing::warn!(source = self.source_name, attempt, %detail, "directory read failed; retrying");
                    tokio::time::sleep(backoff(attempt)).await;
                    continue;
                }
            };
            if reply.status < 500 && reply.status != 429 {
                return Ok(reply);
            }
            let wait = retry_after(&reply.headers).or_else(|| rate_limit_reset(&reply.headers));
            if last || wait.is_some_and(|w| w > self.max_wait) {
                return Err(SourceError::Unavailable {
                    source_name: self.source_name,
                    status: reply.status,
                    retry_after: wait,
                });
            }
            tracing::warn!(
                source = self.source_name,
                attempt,
                status = reply.status,
                ?wait,
                "directory throttled or failing; retrying"
            );
            tokio::time::sleep(wait.unwrap_or_else(|| backoff(attempt))).await;
        }
    }
}

impl Fetcher {
    /// A body up to [`MAX_BODY_BYTES`]: `Err` past it, `Ok(Err(detail))` for a transport
    /// failure the caller may retry.
    pub async fn body(
        &self,
        response: reqwest::Response,
    ) -> Result<Result<bytes::Bytes, String>, SourceError> {
        match outbound::read_body(response, MAX_BODY_BYTES).await {
            Ok(body) => Ok(Ok(body)),
            Err(BodyError::TooLarge { limit }) => Err(SourceError::TooLarge {
                source_name: self.source_name,
                limit,
            }),
            Err(BodyError::Transport(e)) => Ok(Err(e.to_string())),
        }
    }
}

/// Every page of a collection from `first` on: `page` reads one URL and returns its items and
/// the next page's link. Links are followed only while they stay on `origin` (the credentials
/// must not travel to another host), and at most `max_pages` of them (the rest is logged, not
/// looped on). `None` when the source answers 404 (the collection's owner is gone).
pub(super) async fn follow_pages<T, Fut>(
    source_name: &'static str,
    origin: &str,
    first: String,
    max_pages: usize,
    mut page: impl FnMut(String) -> Fut,
) -> Result<Option<Vec<T>>, SourceError>
where
    Fut: std::future::Future<Output = Result<Option<(Vec<T>, Option<String>)>, SourceError>>,
{
    let mut url = first;
    let mut items = Vec::new();
    for _ in 0..max_pages {
        let Some((page_items, next)) = page(url).await? else {
            return Ok(None);
        };
        items.extend(page_items);
        match next {
            Some(next) if same_origin(&next, origin) => url = next,
            Some(_) => {
                return Err(SourceError::Decode {
                    source_name,
                    detail: "the next page's link points to another host".into(),
                });
            }
            None => return Ok(Some(items)),
        }
    }
    tracing::warn!(
        source = source_name,
        pages = max_pages,
        "collection longer than Loadout reads; the rest is ignored"
    );
    Ok(Some(items))
}

/// Whether two URLs share scheme and host (with port).
pub(super) fn same_origin(url: &str, base: &str) -> bool {
    let origin = |u: &str| {
        let rest = u
            .split_once("://")
            .map(|(scheme, rest)| (scheme.to_ascii_lowercase(), rest));
        rest.map(|(scheme, rest)| {
            let host = rest
                .split('/')
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase();
            (scheme, host)
        })
    };
    origin(url).is_some() && origin(url) == origin(base)
}

/// Okta answers 429 without `Retry-After`, with the epoch second its window resets instead.
fn rate_limit_reset(headers: &HeaderMap) -> Option<Duration> {
    let reset: i64 = headers
        .get("x-rate-limit-reset")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let now = chrono::Utc::now().timestamp();
    // At least a second: the reset second itself may not have passed on Okta's clock.
    Some(Duration::from_secs((reset - now).clamp(1, 3600) as u64))
}

/// 250 ms doubling per attempt, capped at 4 s; half fixed, half random so that concurrent
/// enrichers do not retry in step.
fn backoff(attempt: u32) -> Duration {
    let base = Duration::from_millis(250) * 2u32.saturating_pow(attempt.saturating_sub(1));
    let capped = base.min(Duration::from_secs(4));
    capped.mul_f64(rand::rng().random_range(0.5..=1.0))
}

/// Whether the answer is JSON, before decoding it.
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_links_must_stay_on_the_same_host() {
        let base = "https://graph.microsoft.com/v1.0";
        assert!(same_origin(
            "https://graph.microsoft.com/v1.0/users?$skiptoken=x",
            base
        ));
        assert!(!same_origin("https://evil.example/v1.0/users", base));
        assert!(!same_origin("http://graph.microsoft.com/v1.0/users", base));
        assert!(!same_origin("not a url", base));
        assert!(same_origin(
            "http://127.0.0.1:8080/api/v1/users/1/groups?after=x",
            "http://127.0.0.1:8080"
        ));
        assert!(!same_origin(
            "http://127.0.0.1:9090/api/v1/users/1/groups",
            "http://127.0.0.1:8080"
        ));
    }

    #[test]
    fn okta_rate_limit_reset_is_a_wait() {
        let mut h = HeaderMap::new();
        let soon = chrono::Utc::now().timestamp() + 3;
        h.insert(
            "x-rate-limit-reset",
            soon.to_string().parse().expect("header"),
        );
        let wait = rate_limit_reset(&h).expect("a wait");
        assert!(wait >= Duration::from_secs(2) && wait <= Duration::from_secs(3));
        h.insert("x-rate-limit-reset", "0".parse().expect("header"));
        assert_eq!(rate_limit_reset(&h), Some(Duration::from_secs(1)));
        h.insert("x-rate-limit-reset", "later".parse().expect("header"));
        assert_eq!(rate_limit_reset(&h), None);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert!(backoff(1) <= Duration::from_millis(250));
        assert!(backoff(1) >= Duration::from_millis(125));
        assert!(backoff(3) >= Duration::from_millis(500));
        assert!(backoff(30) <= Duration::from_secs(4));
    }
}
