//! How to reach a tenant: base URL, token URL, credentials and the limits the client keeps.

use super::port::UemError;
use crate::ports::{SecretString, Secrets, secrets::keys};
use sha2::{Digest, Sha256};
use std::time::Duration;

/// How the client signs in (uem-api.md §1.3, §1.4).
#[derive(Debug, Clone, PartialEq)]
pub enum UemAuth {
    /// OAuth 2.0 client credentials against the regional token URL (recommended for SaaS).
    OAuth {
        token_url: String,
        client_id: String,
        client_secret: SecretString,
    },
    /// An admin account; needs the tenant code.
    Basic {
        username: String,
        password: SecretString,
    },
}

#[derive(Clone)]
pub struct UemConfig {
    /// The API host, e.g. `https://as1234.awmdm.com` (paths start with `/api/`).
    pub base_url: String,
    pub auth: UemAuth,
    /// `aw-tenant-code`: required with Basic, sent with OAuth when known.
    pub tenant_code: Option<String>,
    /// Sent as `ManagedByOrganizationGroupId` when creating smart groups; without it UEM uses
    /// the admin's organization group.
    pub organization_group_id: Option<String>,
    /// Per-request timeout.
    pub timeout: Duration,
    /// The tenant's shared budget (one token bucket in the state store for every caller).
    pub requests_per_minute: u32,
    /// Attempts per call for retryable failures (429, 5xx, timeouts, transport).
    pub max_attempts: u32,
    /// First backoff step; doubles per attempt, with jitter, capped at `max_backoff`.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// A `Retry-After` longer than this is not waited for in-process: the call fails with
    /// `Throttled` so the caller can put the work back on its queue.
    pub max_retry_after: Duration,
    /// `pagesize` for searches (UEM's default and safe maximum is 500).
    pub page_size: u32,
    /// How long `find_user`/`find_app` answers are cached in the state store.
    pub cache_ttl: Duration,
    /// Lifetime of the lease held around a read-modify-write of one smart group or one app's
    /// assignment rules (a crashed holder's lease lapses after it).
    pub lease_ttl: Duration,
}

/// The tenant code is an API key: never printed.
impl std::fmt::Debug for UemConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UemConfig")
            .field("base_url", &self.base_url)
            .field("auth", &self.auth)
            .field("tenant_code", &self.tenant_code.as_ref().map(|_| "***"))
            .field("organization_group_id", &self.organization_group_id)
            .field("timeout", &self.timeout)
            .field("requests_per_minute", &self.requests_per_minute)
            .field("max_attempts", &self.max_attempts)
            .field("page_size", &self.page_size)
            .finish_non_exhaustive()
    }
}

impl UemConfig {
    fn with_auth(base_url: &str, auth: UemAuth, tenant_code: Option<String>) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            auth,
            tenant_code,
            organization_group_id: None,
            timeout: Duration::from_secs(30),
            requests_per_minute: 120,
            max_attempts: 5,
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(60),
            page_size: 500,
            cache_ttl: Duration::from_secs(600),
            lease_ttl: Duration::from_secs(120),
        }
    }

    pub fn oauth(
        base_url: &str,
        token_url: &str,
        client_id: &str,
        client_secret: SecretString,
    ) -> Self {
        Self::with_auth(
            base_url,
            UemAuth::OAuth {
                token_url: token_url.to_owned(),
                client_id: client_id.to_owned(),
                client_secret,
            },
            None,
        )
    }

    pub fn basic(
        base_url: &str,
        username: &str,
        password: SecretString,
        tenant_code: &str,
    ) -> Self {
        Self::with_auth(
            base_url,
            UemAuth::Basic {
                username: username.to_owned(),
                password,
            },
            Some(tenant_code.to_owned()),
        )
    }

    pub fn tenant_code(mut self, code: &str) -> Self {
        self.tenant_code = Some(code.to_owned());
        self
    }

    /// The `ManagedByOrganizationGroupId` for new smart groups (`None`: the API admin's).
    pub fn organization_group_id(mut self, id: Option<&str>) -> Self {
        self.organization_group_id = id.map(str::to_owned);
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn requests_per_minute(mut self, rpm: u32) -> Self {
        self.requests_per_minute = rpm;
        self
    }

    pub fn page_size(mut self, size: u32) -> Self {
        self.page_size = size.max(1);
        self
    }

    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    pub fn backoff(mut self, base: Duration, max: Duration) -> Self {
        self.base_backoff = base;
        self.max_backoff = max;
        self
    }

    /// From the secrets (`LOADOUT_UEM_CLIENT_ID`/`_SECRET`, else `LOADOUT_UEM_USERNAME`/
    /// `_PASSWORD`, and `LOADOUT_UEM_TENANT_CODE`) and the plain settings. `token_url` is needed
    /// only for OAuth.
    pub async fn from_secrets(
        secrets: &dyn Secrets,
        base_url: &str,
        token_url: Option<&str>,
    ) -> Result<Self, UemError> {
        let get = |key: &'static str| async move {
            secrets
                .get(key)
                .await
                .map_err(|e| UemError::Config(format!("{key}: {e}")))
        };
        let tenant_code = get(keys::UEM_TENANT_CODE)
            .await?
            .map(|s| s.expose().to_owned());
        if let (Some(id), Some(secret)) = (
            get(keys::UEM_CLIENT_ID).await?,
            get(keys::UEM_CLIENT_SECRET).await?,
        ) {
            let token_url = token_url.ok_or_else(|| {
                UemError::Config("OAuth credentials need LOADOUT_UEM_TOKEN_URL".into())
            })?;
            let mut config = Self::oauth(base_url, token_url, id.expose(), secret);
            config.tenant_code = tenant_code;
            return Ok(config);
        }
        match (
            get(keys::UEM_USERNAME).await?,
            get(keys::UEM_PASSWORD).await?,
            tenant_code,
        ) {
            (Some(user), Some(password), Some(code)) => {
                Ok(Self::basic(base_url, user.expose(), password, &code))
            }
            (Some(_), Some(_), None) => Err(UemError::Config(
                "Basic authentication needs LOADOUT_UEM_TENANT_CODE".into(),
            )),
            _ => Err(UemError::Config(
                "no UEM credentials: set LOADOUT_UEM_CLIENT_ID/_SECRET or LOADOUT_UEM_USERNAME/_PASSWORD"
                    .into(),
            )),
        }
    }

    /// The key of this tenant's shared token bucket, leases and caches in the state store: a
    /// hash of the tenant code (an API key, which must not sit in keys that logs, metrics and
    /// backups show), or of the base URL when there is no code. Stable across instances.
    pub fn tenant_key(&self) -> String {
        let identity = match &self.tenant_code {
            Some(code) if !code.is_empty() => code.as_str(),
            _ => self.base_url.as_str(),
        };
        let digest = Sha256::digest(identity.as_bytes());
        format!("tenant-{}", hex::encode(&digest[..16]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(code: &str) -> UemConfig {
        UemConfig::basic(
            "https://as1234.awmdm.com",
            "admin",
            SecretString::new("password-for-tests"),
            code,
        )
    }

    #[test]
    fn state_store_keys_hold_a_hash_of_the_tenant_code_not_the_code() {
        let key = config("Zq8MyTenantApiKey42").tenant_key();
        assert!(!key.contains("Zq8MyTenantApiKey42"), "{key}");
        assert_eq!(key, config("Zq8MyTenantApiKey42").tenant_key(), "stable");
        assert_ne!(key, config("another-tenant-code").tenant_key());
        assert!(!key.contains('#'), "no separator of our keys: {key}");
    }

    #[test]
    fn debug_output_redacts_the_tenant_code() {
        let text = format!("{:?}", config("Zq8MyTenantApiKey42"));
        assert!(!text.contains("Zq8MyTenantApiKey42"), "{text}");
        assert!(text.contains("as1234.awmdm.com"), "{text}");
    }
}
