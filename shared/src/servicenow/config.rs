//! Where the instance is, which namespace its App Approvals API lives under, where it calls
//! back, and the client's time limits. Credentials are not here: they are read from the secret
//! at call time, so a rotation needs no restart.

use super::error::ServiceNowError;
use super::request::CALLBACK_URL_MAX;
use std::time::Duration;

/// The non-secret settings (environment variables).
pub mod settings {
    /// The instance URL, e.g. `https://acme.service-now.com`.
    pub const BASE_URL: &str = "LOADOUT_SERVICENOW_BASE_URL";
    /// The scripted REST API's namespace (the application scope or company code).
    pub const NAMESPACE: &str = "LOADOUT_SERVICENOW_NAMESPACE";
    /// Loadout's public base URL; ServiceNow calls `<it>/approvals/servicenow`.
    pub const PUBLIC_BASE_URL: &str = "LOADOUT_PUBLIC_BASE_URL";
}

/// The route ServiceNow calls back (DESIGN.md, HTTP contract).
pub const CALLBACK_PATH: &str = "/approvals/servicenow";

#[derive(Debug, Clone, PartialEq)]
pub struct ServiceNowConfig {
    pub base_url: String,
    pub namespace: String,
    /// `Links.ApprovalNotify.Url` of every request.
    pub callback_url: String,
    /// Per HTTP request.
    pub timeout: Duration,
    /// For one whole operation, retries included: past it the operation gives up.
    pub deadline: Duration,
    /// Attempts per operation at most (within the deadline).
    pub max_attempts: u32,
    /// First backoff step; doubles per attempt, with jitter, capped at `max_backoff`.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
}

fn http_url(name: &str, value: &str) -> Result<String, ServiceNowError> {
    let trimmed = value.trim().trim_end_matches('/');
    let valid = (trimmed.starts_with("https://") || trimmed.starts_with("http://"))
        && !trimmed.contains(char::is_whitespace)
        && trimmed.len() > "http://".len();
    if valid {
        Ok(trimmed.to_owned())
    } else {
        Err(ServiceNowError::NotConfigured(format!(
            "{name} must be an http(s) URL, not {value:?}"
        )))
    }
}

impl ServiceNowConfig {
    pub fn new(
        base_url: &str,
        namespace: &str,
        public_base_url: &str,
    ) -> Result<Self, ServiceNowError> {
        let base_url = http_url(settings::BASE_URL, base_url)?;
        let namespace = namespace.trim();
        if namespace.is_empty()
            || !namespace
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(ServiceNowError::NotConfigured(format!(
                "{} must be letters, digits and '_', not {namespace:?}",
                settings::NAMESPACE
            )));
        }
        let callback_url = format!(
            "{}{CALLBACK_PATH}",
            http_url(settings::PUBLIC_BASE_URL, public_base_url)?
        );
        if callback_url.len() > CALLBACK_URL_MAX {
            return Err(ServiceNowError::NotConfigured(format!(
                "{} is too long for u_uem_callback_url ({CALLBACK_URL_MAX})",
                settings::PUBLIC_BASE_URL
            )));
        }
        Ok(Self {
            base_url,
            namespace: namespace.to_owned(),
            callback_url,
            timeout: Duration::from_secs(10),
            deadline: Duration::from_secs(30),
            max_attempts: 6,
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(8),
        })
    }

    /// The settings from `lookup` (the environment); `None` when ServiceNow is not configured
    /// (no base URL), an error when it is configured halfway.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Self>, ServiceNowError> {
        let present = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let Some(base) = present(settings::BASE_URL) else {
            return Ok(None);
        };
        let namespace = present(settings::NAMESPACE).ok_or_else(|| {
            ServiceNowError::NotConfigured(format!("{} is not set", settings::NAMESPACE))
        })?;
        let public = present(settings::PUBLIC_BASE_URL).ok_or_else(|| {
            ServiceNowError::NotConfigured(format!("{} is not set", settings::PUBLIC_BASE_URL))
        })?;
        Self::new(&base, &namespace, &public).map(Some)
    }

    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn with_backoff(mut self, base: Duration, max: Duration) -> Self {
        self.base_backoff = base;
        self.max_backoff = max;
        self
    }

    /// `POST` here to open a request.
    pub fn approval_url(&self) -> String {
        format!(
            "{}/api/{}/appapproval/request",
            self.base_url, self.namespace
        )
    }

    /// The Table API collection of requests (read to find an existing ticket).
    pub fn requests_url(&self) -> String {
        format!("{}/api/now/table/sc_request", self.base_url)
    }

    pub fn token_url(&self) -> String {
        format!("{}/oauth_token.do", self.base_url)
    }

    /// Where an admin opens the ticket.
    pub fn ticket_url(&self, sys_id: &str) -> String {
        format!("{}/sc_request.do?sys_id={sys_id}", self.base_url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_configured_without_a_base_url_and_an_error_when_half_configured() {
        assert!(
            ServiceNowConfig::from_lookup(|_| None)
                .expect("fine")
                .is_none()
        );
        let half = ServiceNowConfig::from_lookup(|n| {
            (n == settings::BASE_URL).then(|| "https://acme.service-now.com".to_owned())
        });
        assert!(half.unwrap_err().to_string().contains(settings::NAMESPACE));
    }

    #[test]
    fn the_callback_url_is_the_public_base_plus_the_route() {
        let c = ServiceNowConfig::new(
            "https://acme.service-now.com/",
            "x_acme_loadout",
            "https://loadout.acme.com/",
        )
        .expect("valid");
        assert_eq!(
            c.callback_url,
            "https://loadout.acme.com/approvals/servicenow"
        );
        assert_eq!(
            c.approval_url(),
            "https://acme.service-now.com/api/x_acme_loadout/appapproval/request"
        );
        assert!(ServiceNowConfig::new("https://a", "x y", "https://b").is_err());
    }
}
