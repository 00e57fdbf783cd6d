//! Where Intelligence lives and how Loadout signs in to it. The URLs are plain settings; the
//! service account's client id and secret come from the secret (`LOADOUT_INTELLIGENCE_CLIENT_ID`,
//! `LOADOUT_INTELLIGENCE_CLIENT_SECRET`) and are read again after a refusal, so a regenerated
//! secret needs no redeploy.

use super::IntelligenceError;
use std::time::Duration;

/// `LOADOUT_INTELLIGENCE_TOKEN_URL`: the `tokenEndpoint` of the service account's credentials
/// file (hosts differ by region: `https://auth.<region>.data.workspaceone.com/oauth/token`).
pub const TOKEN_URL_SETTING: &str = "LOADOUT_INTELLIGENCE_TOKEN_URL";
/// `LOADOUT_INTELLIGENCE_BASE_URL`: `https://api.<region>.data.workspaceone.com`.
pub const BASE_URL_SETTING: &str = "LOADOUT_INTELLIGENCE_BASE_URL";

#[derive(Debug, Clone)]
pub struct IntelligenceConfig {
    pub token_url: String,
    /// Without a trailing slash; paths start `/v2/`.
    pub base_url: String,
    /// One HTTP request (the download stream is bounded per chunk, not as a whole).
    pub timeout: Duration,
    /// Loadout's share of the organization's 1,000 calls an hour. Other scripts and
    /// integrations of the organization spend the same limit, hence the headroom by default.
    pub calls_per_hour: u32,
    /// Attempts per call on 429/5xx/transport errors.
    pub max_attempts: u32,
    /// A longer `Retry-After` is not waited out inside one read: the error says when to retry.
    pub max_retry_wait: Duration,
    /// First wait between download polls; it grows by half each time up to `max_poll_interval`.
    pub first_poll: Duration,
    pub max_poll_interval: Duration,
}

impl IntelligenceConfig {
    pub fn new(token_url: &str, base_url: &str) -> Self {
        Self {
            token_url: token_url.trim().to_owned(),
            base_url: base_url.trim().trim_end_matches('/').to_owned(),
            timeout: Duration::from_secs(30),
            calls_per_hour: 900,
            max_attempts: 4,
            max_retry_wait: Duration::from_secs(60),
            first_poll: Duration::from_secs(10),
            max_poll_interval: Duration::from_secs(60),
        }
    }

    /// `None` when `LOADOUT_INTELLIGENCE_BASE_URL` is not set: usage is not read from
    /// Intelligence. Both URLs must be https (or loopback, for the simulator).
    pub fn from_settings(
        lookup: &(dyn Fn(&str) -> Option<String> + Sync),
    ) -> Result<Option<Self>, IntelligenceError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let Some(base) = get(BASE_URL_SETTING) else {
            return Ok(None);
        };
        let token = get(TOKEN_URL_SETTING)
            .ok_or_else(|| IntelligenceError::Config(format!("{TOKEN_URL_SETTING} is not set")))?;
        for (name, url) in [(BASE_URL_SETTING, &base), (TOKEN_URL_SETTING, &token)] {
            if !(url.starts_with("https://") || url.starts_with("http://127.0.0.1")) {
                return Err(IntelligenceError::Config(format!(
                    "{name} must be an https:// URL"
                )));
            }
        }
        Ok(Some(Self::new(&token, &base)))
    }
}
