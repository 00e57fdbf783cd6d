//! Secrets: one JSON secret in AWS, environment variables of the same names in local mode.

use async_trait::async_trait;
use std::fmt;

/// A secret value that never prints itself.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString(***)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("secret store unavailable: {0}")]
    Unavailable(String),
    #[error("secret document is not a JSON object of strings: {0}")]
    Malformed(String),
}

/// Well-known secret keys (DESIGN.md, Secrets and settings).
pub mod keys {
    pub const HRIS_HMAC_SECRET: &str = "LOADOUT_HRIS_HMAC_SECRET";
    pub const BAMBOOHR_HMAC_SECRET: &str = "LOADOUT_BAMBOOHR_HMAC_SECRET";
    pub const OKTA_AUTHORIZATION: &str = "LOADOUT_OKTA_AUTHORIZATION";
    pub const GRAPH_CLIENT_STATE: &str = "LOADOUT_GRAPH_CLIENT_STATE";
    pub const UEM_EVENTS_BASIC: &str = "LOADOUT_UEM_EVENTS_BASIC";
    pub const SERVICENOW_CALLBACK_TOKEN: &str = "LOADOUT_SERVICENOW_CALLBACK_TOKEN";
    pub const ADMIN_TOKEN: &str = "LOADOUT_ADMIN_TOKEN";
    pub const UEM_CLIENT_ID: &str = "LOADOUT_UEM_CLIENT_ID";
    pub const UEM_CLIENT_SECRET: &str = "LOADOUT_UEM_CLIENT_SECRET";
    pub const UEM_USERNAME: &str = "LOADOUT_UEM_USERNAME";
    pub const UEM_PASSWORD: &str = "LOADOUT_UEM_PASSWORD";
    pub const UEM_TENANT_CODE: &str = "LOADOUT_UEM_TENANT_CODE";
    pub const SERVICENOW_USERNAME: &str = "LOADOUT_SERVICENOW_USERNAME";
    pub const SERVICENOW_PASSWORD: &str = "LOADOUT_SERVICENOW_PASSWORD";
    /// An OAuth application registry entry of the instance (`/oauth_token.do`); with the user
    /// name and password above it is the password grant, without them client credentials.
    pub const SERVICENOW_CLIENT_ID: &str = "LOADOUT_SERVICENOW_CLIENT_ID";
    pub const SERVICENOW_CLIENT_SECRET: &str = "LOADOUT_SERVICENOW_CLIENT_SECRET";
    pub const SLACK_WEBHOOK_URL: &str = "LOADOUT_SLACK_WEBHOOK_URL";
    /// Reading people from Entra ID and BambooHR during enrichment.
    pub const GRAPH_CLIENT_SECRET: &str = "LOADOUT_GRAPH_CLIENT_SECRET";
    pub const BAMBOOHR_API_KEY: &str = "LOADOUT_BAMBOOHR_API_KEY";
    pub const OKTA_API_TOKEN: &str = "LOADOUT_OKTA_API_TOKEN";
    /// The Intelligence service account that reads app usage (license reclamation).
    pub const INTELLIGENCE_CLIENT_ID: &str = "LOADOUT_INTELLIGENCE_CLIENT_ID";
    pub const INTELLIGENCE_CLIENT_SECRET: &str = "LOADOUT_INTELLIGENCE_CLIENT_SECRET";
    /// Signs the one-click "keep it" links of reclamation notices (HMAC-SHA256; used whole).
    pub const RECLAIM_LINK_SECRET: &str = "LOADOUT_RECLAIM_LINK_SECRET";

    /// Every key, for generating local secrets and for documentation.
    pub const ALL: [&str; 23] = [
        HRIS_HMAC_SECRET,
        BAMBOOHR_HMAC_SECRET,
        OKTA_AUTHORIZATION,
        GRAPH_CLIENT_STATE,
        UEM_EVENTS_BASIC,
        SERVICENOW_CALLBACK_TOKEN,
        ADMIN_TOKEN,
        UEM_CLIENT_ID,
        UEM_CLIENT_SECRET,
        UEM_USERNAME,
        UEM_PASSWORD,
        UEM_TENANT_CODE,
        SERVICENOW_USERNAME,
        SERVICENOW_PASSWORD,
        SERVICENOW_CLIENT_ID,
        SERVICENOW_CLIENT_SECRET,
        SLACK_WEBHOOK_URL,
        GRAPH_CLIENT_SECRET,
        BAMBOOHR_API_KEY,
        OKTA_API_TOKEN,
        INTELLIGENCE_CLIENT_ID,
        INTELLIGENCE_CLIENT_SECRET,
        RECLAIM_LINK_SECRET,
    ];

    /// The secrets senders authenticate to Loadout with. Each is one value, compared whole; during
    /// a rotation the previous value may sit beside it under [`previous`]`(name)`, and both are
    /// accepted. Loadout refuses to start with one shorter than
    /// [`crate::webhook::secret::MIN_SECRET_BYTES`].
    pub const INBOUND: [&str; 7] = [
        HRIS_HMAC_SECRET,
        BAMBOOHR_HMAC_SECRET,
        OKTA_AUTHORIZATION,
        GRAPH_CLIENT_STATE,
        UEM_EVENTS_BASIC,
        SERVICENOW_CALLBACK_TOKEN,
        ADMIN_TOKEN,
    ];

    /// The suffix of the setting that holds an inbound secret's previous value (DESIGN.md,
    /// Secrets and settings: `<NAME>_PREVIOUS`).
    pub const PREVIOUS_SUFFIX: &str = "_PREVIOUS";

    /// `<name>_PREVIOUS`: where the value being rotated out waits until senders have switched.
    pub fn previous(name: &str) -> String {
        format!("{name}{PREVIOUS_SUFFIX}")
    }
}

#[async_trait]
pub trait Secrets: Send + Sync {
    /// The current value of a key, or `None` when it is not configured.
    async fn get(&self, key: &str) -> Result<Option<SecretString>, SecretsError>;

    /// Drop any cached copy, e.g. after the secret was rejected as stale (rotation).
    async fn refresh(&self) -> Result<(), SecretsError>;
}

/// For functions that are deployed without access to the secret (they never need one).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoSecrets;

#[async_trait]
impl Secrets for NoSecrets {
    async fn get(&self, _key: &str) -> Result<Option<SecretString>, SecretsError> {
        Ok(None)
    }

    async fn refresh(&self) -> Result<(), SecretsError> {
        Ok(())
    }
}
