//! Slack incoming webhooks: `POST <LOADOUT_SLACK_WEBHOOK_URL>` with `{"text", "blocks"}`;
//! Slack answers `200 ok` (text/plain) or a plain-text error code. 429 waits for `Retry-After`
//! and 5xx/timeouts back off, both only within the deadline; other 4xx are final. A 403, 404
//! or 410 may mean the URL was rotated: the secret is read again once. The URL is a secret:
//! it is never logged (errors are stripped of it).

use super::{Notice, NoticeBody, Notifier, NotifyError};
use crate::ports::secrets::keys;
use crate::ports::{Clock, Secrets};
use crate::retry::{backoff_delay, retry_after};
use async_trait::async_trait;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// Non-secret settings (environment variables).
pub mod settings {
    /// The channel notices go to when they name none (honoured by legacy webhooks; an app's
    /// webhook always posts to the channel it was created for).
    pub const CHANNEL: &str = "LOADOUT_SLACK_CHANNEL";
}

#[derive(Debug, Clone, PartialEq)]
pub struct SlackSettings {
    pub default_channel: Option<String>,
    /// Per request.
    pub timeout: Duration,
    /// For one notice, retries included.
    pub deadline: Duration,
    pub max_attempts: u32,
    pub base_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for SlackSettings {
    fn default() -> Self {
        Self {
            default_channel: None,
            timeout: Duration::from_secs(4),
            deadline: Duration::from_secs(8),
            max_attempts: 4,
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(4),
        }
    }
}

impl SlackSettings {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        Self {
            default_channel: lookup(settings::CHANNEL).filter(|c| !c.trim().is_empty()),
            ..Self::default()
        }
    }
}

pub struct SlackNotifier {
    http: reqwest::Client,
    secrets: Arc<dyn Secrets>,
    clock: Arc<dyn Clock>,
    settings: SlackSettings,
}

impl SlackNotifier {
    pub fn new(
        secrets: Arc<dyn Secrets>,
        clock: Arc<dyn Clock>,
        settings: SlackSettings,
    ) -> Result<Self, NotifyError> {
        let http = reqwest::Client::builder()
            .connect_timeout(settings.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("loadout/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| NotifyError::GaveUp {
                attempts: 0,
                last: format!("HTTP client: {}", e.without_url()),
            })?;
        Ok(Self {
            http,
            secrets,
            clock,
            settings,
        })
    }

    async fn webhook_url(&self) -> Result<Option<String>, NotifyError> {
        self.secrets
            .get(keys::SLACK_WEBHOOK_URL)
            .await
            .map(|v| v.map(|s| s.expose().trim().to_owned()))
            .map_err(|e| NotifyError::GaveUp {
                attempts: 0,
                last: format!("reading the secret: {e}"),
            })
    }
}

/// What one post came back with.
enum Answer {
    Ok,
    /// May pass: wait (at least `retry_after` when given) and try again.
    Retry {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// 403/404/410: the URL may have been rotated or revoked.
    Gone {
        status: u16,
        code: String,
    },
    Final {
        status: u16,
        code: String,
    },
}

#[async_trait]
impl Notifier for SlackNotifier {
    #[tracing::instrument(skip_all, fields(kind = notice.kind()))]
    async fn send(&self, notice: &Notice) -> Result<(), NotifyError> {
        let Some(mut url) = self.webhook_url().await? else {
            return Err(NotifyError::NotConfigured);
        };
        let payload = render(notice, self.settings.default_channel.as_deref());
        let started = self.clock.now();
        let deadline = started
            + chrono::Duration::from_std(self.settings.deadline)
                .unwrap_or_else(|_| chrono::Duration::seconds(8));
        let mut reread = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let left = (deadline - self.clock.now()).to_std().unwrap_or_default();
            if left.is_zero() {
                return Err(NotifyError::GaveUp {
                    attempts: attempt - 1,
                    last: "deadline reached".into(),
                });
            }
            let (reason, wait) = match self.post(&url, &payload, left).await {
                Answer::Ok => return Ok(()),
                Answer::Final { status, code } => {
                    return Err(NotifyError::Refused { status, code });
                }
                Answer::Gone { status, code } => {
                    if !reread {
                        reread = true;
                        let _ = self.secrets.refresh().await;
                        if let Some(fresh) = self.webhook_url().await?
                            && fresh != url
                        {
                            url = fresh;
                            continue;
                        }
                    }
                    return Err(NotifyError::Refused { status, code });
                }
                Answer::Retry {
                    reason,
                    retry_after,
                } => (
                    reason,
                    retry_after.unwrap_or_else(|| {
                        backoff_delay(
                            attempt,
                            self.settings.base_backoff,
                            self.settings.max_backoff,
                        )
                    }),
                ),
            };
            let left = (deadline - self.clock.now()).to_std().unwrap_or_default();
            if attempt >= self.settings.max_attempts || wait >= left {
                return Err(NotifyError::GaveUp {
                    attempts: attempt,
                    last: reason,
                });
            }
            self.clock.sleep(wait).await;
        }
    }
}

impl SlackNotifier {
    async fn post(&self, url: &str, payload: &Value, left: Duration) -> Answer {
        let sent = self
            .http
            .post(url)
            .timeout(self.settings.timeout.min(left))
            .header("content-type", "application/json")
            .body(payload.to_string())
            .send()
            .await;
        let response = match sent {
            Ok(r) => r,
            Err(e) => {
                return Answer::Retry {
                    reason: if e.is_timeout() {
                        "timed out".into()
                    } else {
                        e.without_url().to_string()
                    },
                    retry_after: None,
                };
            }
        };
        let status = response.status().as_u16();
        let wait = retry_after(response.headers(), self.clock.now());
        // Slack's error codes are short plain text; anything longer is not one.
        let code: String = response
            .text()
            .await
            .unwrap_or_default()
            .trim()
            .chars()
            .take(80)
            .collect();
        match status {
            200 => Answer::Ok,
            429 => Answer::Retry {
                reason: format!("HTTP 429 {code}"),
                retry_after: Some(wait.unwrap_or(Duration::from_secs(1))),
            },
            403 | 404 | 410 => Answer::Gone { status, code },
            s if s >= 500 => Answer::Retry {
                reason: format!("HTTP {s} {code}"),
                retry_after: None,
            },
            s => Answer::Final { status: s, code },
        }
    }
}

/// Slack's mrkdwn control characters.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn section(text: String) -> Value {
    json!({"type": "section", "text": {"type": "mrkdwn", "text": clip(&text, 3000)}})
}

fn header(text: &str) -> Value {
    json!({"type": "header", "text": {"type": "plain_text", "text": clip(text, 150)}})
}

fn clip(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// The webhook body of a notice: `text` (the notification fallback) and `blocks`.
pub fn render(notice: &Notice, default_channel: Option<&str>) -> Value {
    let (text, mut blocks) = match &notice.body {
        NoticeBody::ApprovalNeeded {
            user_id,
            app_name,
            device_id,
            reason,
            ticket_number,
            ticket_url,
            ..
        } => {
            let mut blocks = vec![
                header("Approval needed"),
                section(format!(
                    "*{}* for *{}* on device {}\n{}",
                    escape(app_name),
                    escape(user_id.as_str()),
                    escape(device_id),
                    escape(reason)
                )),
            ];
            match (ticket_number, ticket_url) {
                (Some(number), Some(url)) => blocks.push(section(format!(
                    "Approve or reject in ServiceNow: <{}|{}>",
                    url.replace(['<', '>', '|'], ""),
                    escape(number)
                ))),
                (Some(number), None) => {
                    blocks.push(section(format!("ServiceNow ticket {}", escape(number))))
                }
                _ => {}
            }
            (format!("Approval needed: {app_name} for {user_id}"), blocks)
        }
        NoticeBody::BreakerTripped {
            run,
            affected_users,
            total_users,
            limit_percent,
        } => {
            let share = if *total_users == 0 {
                0.0
            } else {
                100.0 * *affected_users as f64 / *total_users as f64
            };
            (
                format!("Breaker tripped: {run} halted for approval"),
                vec![
                    header("Blast-radius breaker tripped"),
                    section(format!(
                        "Run `{}` would change {affected_users} of {total_users} users ({share:.1}%, limit {limit_percent:.1}%). Nothing was applied; it waits for an admin.",
                        escape(run)
                    )),
                ],
            )
        }
        NoticeBody::Reclamation {
            user_id,
            app_name,
            idle_days,
            reclaim_at,
            keep_url,
            ..
        } => {
            let mut blocks = vec![
                header("Licence reclamation"),
                section(format!(
                    "*{}* has not been used by *{}* for {idle_days} days and will be removed on {}.",
                    escape(app_name),
                    escape(user_id.as_str()),
                    reclaim_at.format("%Y-%m-%d")
                )),
            ];
            if let Some(url) = keep_url {
                blocks.push(section(format!(
                    "<{url}|Keep it>: one click keeps the seat."
                )));
            }
            (
                format!("{app_name} will be reclaimed from {user_id}"),
                blocks,
            )
        }
        NoticeBody::NeedsHuman {
            summary, detail, ..
        } => (
            format!("Needs attention: {summary}"),
            vec![
                header("Needs attention"),
                section(format!("*{}*\n{}", escape(summary), escape(detail))),
            ],
        ),
    };
    blocks.push(json!({"type": "context", "elements": [
        {"type": "mrkdwn", "text": format!("Loadout · correlation `{}`", escape(notice.correlation_id.as_str()))}
    ]}));
    let mut payload = json!({"text": text, "blocks": blocks});
    if let Some(channel) = notice.channel.as_deref().or(default_channel) {
        payload["channel"] = json!(channel);
    }
    payload
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AppId, CorrelationId, UserId};

    #[test]
    fn approval_notices_link_the_ticket_and_escape_text() {
        let notice = Notice::new(
            CorrelationId::from("c-1"),
            NoticeBody::ApprovalNeeded {
                user_id: UserId::from("jdoe"),
                app_id: AppId::from("visio"),
                app_name: "Visio <Pro> & more".into(),
                device_id: "10003".into(),
                reason: "licensed".into(),
                ticket_number: Some("REQ0010001".into()),
                ticket_url: Some("https://acme.service-now.com/sc_request.do?sys_id=abc".into()),
            },
        );
        let payload = render(&notice, Some("#it-approvals"));
        assert_eq!(payload["channel"], "#it-approvals");
        let blocks = payload["blocks"].as_array().expect("blocks");
        assert!(
            blocks[1]["text"]["text"]
                .as_str()
                .is_some_and(|t| t.contains("Visio &lt;Pro&gt; &amp; more"))
        );
        assert!(blocks[2]["text"]["text"].as_str().is_some_and(|t| {
            t.contains("<https://acme.service-now.com/sc_request.do?sys_id=abc|REQ0010001>")
        }));
        let own = render(&notice.in_channel("#other"), Some("#it-approvals"));
        assert_eq!(own["channel"], "#other");
    }
}
