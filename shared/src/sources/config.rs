//! Where each directory lives and how Loadout signs in to it. Ids and URLs are plain settings
//! (environment); the client secret and the API key come from the secret.

use super::SourceError;
use crate::ports::secrets::keys;
use crate::ports::{SecretString, Secrets};
use std::time::Duration;

/// An Entra ID app registration with the `User.Read.All` and `GroupMember.Read.All` application
/// permissions, signing in with the client-credentials flow.
#[derive(Debug, Clone)]
pub struct GraphConfig {
    /// `https://graph.microsoft.com/v1.0` (national clouds and the simulator differ).
    pub base_url: String,
    /// `https://login.microsoftonline.com`; the token endpoint is `{login}/{tenant}/oauth2/v2.0/token`.
    pub login_url: String,
    pub tenant_id: String,
    pub client_id: String,
    pub client_secret: SecretString,
    pub timeout: Duration,
}

impl GraphConfig {
    pub const DEFAULT_BASE_URL: &'static str = "https://graph.microsoft.com/v1.0";
    pub const DEFAULT_LOGIN_URL: &'static str = "https://login.microsoftonline.com";

    pub fn new(tenant_id: &str, client_id: &str, client_secret: SecretString) -> Self {
        Self {
            base_url: Self::DEFAULT_BASE_URL.into(),
            login_url: Self::DEFAULT_LOGIN_URL.into(),
            tenant_id: tenant_id.into(),
            client_id: client_id.into(),
            client_secret,
            timeout: Duration::from_secs(10),
        }
    }

    pub fn urls(mut self, base_url: &str, login_url: &str) -> Self {
        self.base_url = base_url.trim_end_matches('/').into();
        self.login_url = login_url.trim_end_matches('/').into();
        self
    }

    pub fn token_url(&self) -> String {
        format!("{}/{}/oauth2/v2.0/token", self.login_url, self.tenant_id)
    }

    /// `LOADOUT_GRAPH_TENANT_ID` and `LOADOUT_GRAPH_CLIENT_ID` (plus optional
    /// `LOADOUT_GRAPH_BASE_URL`, `LOADOUT_GRAPH_LOGIN_URL`) and the secret's
    /// `LOADOUT_GRAPH_CLIENT_SECRET`. `None` when the tenant id is not set: Graph is not used.
    pub async fn from_settings(
        lookup: &(dyn Fn(&str) -> Option<String> + Sync),
        secrets: &dyn Secrets,
    ) -> Result<Option<Self>, SourceError> {
        let Some(tenant) = setting(lookup, "LOADOUT_GRAPH_TENANT_ID") else {
            return Ok(None);
        };
        let missing = |detail: &str| SourceError::Config {
            source_name: "graph",
            detail: detail.to_owned(),
        };
        let client_id = setting(lookup, "LOADOUT_GRAPH_CLIENT_ID")
            .ok_or_else(|| missing("LOADOUT_GRAPH_CLIENT_ID is not set"))?;
        let secret = secrets
            .get(keys::GRAPH_CLIENT_SECRET)
            .await
            .map_err(|e| missing(&format!("{}: {e}", keys::GRAPH_CLIENT_SECRET)))?
            .ok_or_else(|| missing("the secret holds no LOADOUT_GRAPH_CLIENT_SECRET"))?;
        let config = Self::new(&tenant, &client_id, secret).urls(
            &setting(lookup, "LOADOUT_GRAPH_BASE_URL")
                .unwrap_or_else(|| Self::DEFAULT_BASE_URL.into()),
            &setting(lookup, "LOADOUT_GRAPH_LOGIN_URL")
                .unwrap_or_else(|| Self::DEFAULT_LOGIN_URL.into()),
        );
        Ok(Some(config))
    }
}

/// A BambooHR API key of a user who may read the job information of every employee.
#[derive(Debug, Clone)]
pub struct BambooHrConfig {
    /// `https://{companyDomain}.bamboohr.com/api/v1` unless set.
    pub base_url: String,
    pub api_key: SecretString,
    pub timeout: Duration,
}

impl BambooHrConfig {
    pub fn new(company_domain: &str, api_key: SecretString) -> Self {
        Self {
            base_url: format!("https://{company_domain}.bamboohr.com/api/v1"),
            api_key,
            timeout: Duration::from_secs(10),
        }
    }

    pub fn base_url(mut self, base_url: &str) -> Self {
        self.base_url = base_url.trim_end_matches('/').into();
        self
    }

    /// `LOADOUT_BAMBOOHR_COMPANY_DOMAIN` (plus optional `LOADOUT_BAMBOOHR_BASE_URL`) and the
    /// secret's `LOADOUT_BAMBOOHR_API_KEY`. `None` when no company domain is set.
    pub async fn from_settings(
        lookup: &(dyn Fn(&str) -> Option<String> + Sync),
        secrets: &dyn Secrets,
    ) -> Result<Option<Self>, SourceError> {
        let Some(domain) = setting(lookup, "LOADOUT_BAMBOOHR_COMPANY_DOMAIN") else {
            return Ok(None);
        };
        let missing = |detail: &str| SourceError::Config {
            source_name: "bamboohr",
            detail: detail.to_owned(),
        };
        if !domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(missing(
                "LOADOUT_BAMBOOHR_COMPANY_DOMAIN must be the subdomain only (e.g. acme)",
            ));
        }
        let key = secrets
            .get(keys::BAMBOOHR_API_KEY)
            .await
            .map_err(|e| missing(&format!("{}: {e}", keys::BAMBOOHR_API_KEY)))?
            .ok_or_else(|| missing("the secret holds no LOADOUT_BAMBOOHR_API_KEY"))?;
        let mut config = Self::new(&domain, key);
        if let Some(base) = setting(lookup, "LOADOUT_BAMBOOHR_BASE_URL") {
            config = config.base_url(&base);
        }
        Ok(Some(config))
    }
}

/// An Okta API token (read-only admin) or an OAuth access token for the Users API.
#[derive(Debug, Clone)]
pub struct OktaConfig {
    /// `https://{yourOktaDomain}`, without a trailing slash.
    pub org_url: String,
    pub api_token: SecretString,
    pub timeout: Duration,
}

impl OktaConfig {
    pub fn new(org_url: &str, api_token: SecretString) -> Self {
        Self {
            org_url: org_url.trim_end_matches('/').into(),
            api_token,
            timeout: Duration::from_secs(10),
        }
    }

    /// `LOADOUT_OKTA_ORG_URL` and the secret's `LOADOUT_OKTA_API_TOKEN`. `None` when the org URL is
    /// not set: Okta events are then resolved by e-mail only.
    pub async fn from_settings(
        lookup: &(dyn Fn(&str) -> Option<String> + Sync),
        secrets: &dyn Secrets,
    ) -> Result<Option<Self>, SourceError> {
        let Some(org) = setting(lookup, "LOADOUT_OKTA_ORG_URL") else {
            return Ok(None);
        };
        let missing = |detail: &str| SourceError::Config {
            source_name: "okta",
            detail: detail.to_owned(),
        };
        if !(org.starts_with("https://") || org.starts_with("http://127.0.0.1")) {
            return Err(missing(
                "LOADOUT_OKTA_ORG_URL must be the org's https:// URL",
            ));
        }
        let token = secrets
            .get(keys::OKTA_API_TOKEN)
            .await
            .map_err(|e| missing(&format!("{}: {e}", keys::OKTA_API_TOKEN)))?
            .ok_or_else(|| missing("the secret holds no LOADOUT_OKTA_API_TOKEN"))?;
        Ok(Some(Self::new(&org, token)))
    }
}

fn setting(lookup: &(dyn Fn(&str) -> Option<String> + Sync), name: &str) -> Option<String> {
    lookup(name)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}
