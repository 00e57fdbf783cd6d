//! The AWS context of one Lambda instance: the SDK configuration, loaded once, the three service
//! clients built from it, and the resource names the function was deployed with.
//!
//! Build it once in `main`, before `lambda_runtime::run`, and hand out the adapters from it; the
//! clients hold connection pools and credential caches that every invocation should reuse.

use super::audit_log::DynamoAuditLog;
use super::queue::SqsQueue;
use super::secrets::SecretsManagerSecrets;
use super::state_store::DynamoStateStore;
use crate::ports::Clock;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// The environment variables the AWS adapters read. Each function is deployed with only the ones
/// it needs (infra/template.yaml); asking the context for an adapter whose variable is unset is a
/// [`AwsConfigError::Missing`] naming it.
pub mod env {
    /// Overrides the endpoint of every AWS service, e.g. `http://127.0.0.1:5000` for moto.
    /// For tests and the local emulator only; never set in a deployment.
    pub const ENDPOINT_URL: &str = "LOADOUT_AWS_ENDPOINT_URL";
    /// Name of the DynamoDB state table (pk, sk, data, ver, ttl).
    pub const STATE_TABLE: &str = "LOADOUT_STATE_TABLE";
    /// Name of the DynamoDB audit table (pk = correlation id, sk = record id; GSIs by_user, by_app).
    pub const AUDIT_TABLE: &str = "LOADOUT_AUDIT_TABLE";
    /// URL of the standard queue from webhook-intake to context-enricher.
    pub const QUEUE_URL_ENRICH: &str = "LOADOUT_QUEUE_URL_ENRICH";
    /// URL of the standard queue from context-enricher to decision-engine.
    pub const QUEUE_URL_DECIDE: &str = "LOADOUT_QUEUE_URL_DECIDE";
    /// URL of the FIFO queue from decision-engine to uem-executor (group = user, dedup = action).
    pub const QUEUE_URL_EXECUTE: &str = "LOADOUT_QUEUE_URL_EXECUTE";
    /// URL of the enrich queue's dead-letter queue.
    pub const QUEUE_URL_ENRICH_DLQ: &str = "LOADOUT_QUEUE_URL_ENRICH_DLQ";
    /// URL of the decide queue's dead-letter queue.
    pub const QUEUE_URL_DECIDE_DLQ: &str = "LOADOUT_QUEUE_URL_DECIDE_DLQ";
    /// URL of the execute queue's dead-letter queue (FIFO as well).
    pub const QUEUE_URL_EXECUTE_DLQ: &str = "LOADOUT_QUEUE_URL_EXECUTE_DLQ";
    /// URL of the standard queue of delayed nudges that apply an app's pending changes.
    pub const QUEUE_URL_FLUSH: &str = "LOADOUT_QUEUE_URL_FLUSH";
    /// URL of the flush queue's dead-letter queue.
    pub const QUEUE_URL_FLUSH_DLQ: &str = "LOADOUT_QUEUE_URL_FLUSH_DLQ";
    /// ARN (or name) of the Secrets Manager secret holding every Loadout secret as one JSON object
    /// of strings, keyed like the local-mode environment variables (`crate::ports::secrets::keys`).
    pub const SECRET_ARN: &str = "LOADOUT_SECRET_ARN";

    /// Every queue variable with the logical queue name it maps to.
    pub const QUEUE_URLS: [(&str, &str); 8] = [
        ("enrich", QUEUE_URL_ENRICH),
        ("decide", QUEUE_URL_DECIDE),
        ("execute", QUEUE_URL_EXECUTE),
        ("flush", QUEUE_URL_FLUSH),
        ("enrich-dlq", QUEUE_URL_ENRICH_DLQ),
        ("decide-dlq", QUEUE_URL_DECIDE_DLQ),
        ("execute-dlq", QUEUE_URL_EXECUTE_DLQ),
        ("flush-dlq", QUEUE_URL_FLUSH_DLQ),
    ];
}

/// How long a fetched secret document is reused before it is read again.
pub const DEFAULT_SECRET_TTL: Duration = Duration::from_secs(300);

#[derive(Debug, thiserror::Error)]
pub enum AwsConfigError {
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    #[error("no queue is called {0:?} (known: enrich, decide, execute and their -dlq)")]
    UnknownQueue(String),
}

/// The resource names a function was deployed with. Every field is optional: a function only has
/// the variables of the resources it may touch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AwsSettings {
    pub endpoint_url: Option<String>,
    pub state_table: Option<String>,
    pub audit_table: Option<String>,
    /// Logical queue name (`enrich`, `decide-dlq`, ...) -> queue URL.
    pub queue_urls: BTreeMap<String, String>,
    pub secret_id: Option<String>,
}

impl AwsSettings {
    /// Reads the variables of [`env`]; unset or empty ones stay `None`.
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`AwsSettings::from_env`] over any lookup (tests pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let queue_urls = env::QUEUE_URLS
            .iter()
            .filter_map(|(logical, var)| get(var).map(|url| ((*logical).to_owned(), url)))
            .collect();
        Self {
            endpoint_url: get(env::ENDPOINT_URL),
            state_table: get(env::STATE_TABLE),
            audit_table: get(env::AUDIT_TABLE),
            queue_urls,
            secret_id: get(env::SECRET_ARN),
        }
    }
}

/// Builds an [`AwsContext`]. In Lambda, `AwsContext::from_env()` is all that is needed; the other
/// setters exist for tests and the local emulator.
#[derive(Debug, Default)]
pub struct AwsContextBuilder {
    settings: AwsSettings,
    region: Option<String>,
    credentials: Option<Credentials>,
}

impl AwsContextBuilder {
    pub fn settings(mut self, settings: AwsSettings) -> Self {
        self.settings = settings;
        self
    }

    /// Sends every request to this endpoint instead of AWS (an emulator such as moto).
    pub fn endpoint_url(mut self, url: impl Into<String>) -> Self {
        self.settings.endpoint_url = Some(url.into());
        self
    }

    /// Overrides the region of the default provider chain (`AWS_REGION` in Lambda).
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// Fixed credentials instead of the default provider chain. Emulators need requests to be
    /// signed, with any key; a deployment uses the function's role and never sets this.
    pub fn static_credentials(mut self, access_key_id: &str, secret_access_key: &str) -> Self {
        self.credentials = Some(Credentials::new(
            access_key_id,
            secret_access_key,
            None,
            None,
            "loadout-static",
        ));
        self
    }

    /// Loads the SDK configuration (one pass over the provider chain) and builds the clients.
    pub async fn load(self) -> AwsContext {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(url) = &self.settings.endpoint_url {
            loader = loader.endpoint_url(url.clone());
        }
        if let Some(region) = self.region {
            loader = loader.region(Region::new(region));
        }
        if let Some(credentials) = self.credentials {
            loader = loader.credentials_provider(credentials);
        }
        AwsContext::from_sdk_config(&loader.load().await, self.settings)
    }
}

/// SDK clients and resource names, built once per Lambda instance.
#[derive(Debug, Clone)]
pub struct AwsContext {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub secretsmanager: aws_sdk_secretsmanager::Client,
    pub settings: AwsSettings,
}

impl AwsContext {
    pub fn builder() -> AwsContextBuilder {
        AwsContextBuilder::default()
    }

    /// The Lambda path: settings from the environment ([`env`]), region and credentials from the
    /// default provider chain (the function's role).
    pub async fn from_env() -> Self {
        Self::builder()
            .settings(AwsSettings::from_env())
            .load()
            .await
    }

    /// Clients from an already loaded SDK configuration. The configuration's endpoint (if any)
    /// applies; `settings.endpoint_url` is only read by the builder.
    pub fn from_sdk_config(sdk: &SdkConfig, settings: AwsSettings) -> Self {
        Self {
            dynamodb: aws_sdk_dynamodb::Client::new(sdk),
            sqs: aws_sdk_sqs::Client::new(sdk),
            secretsmanager: aws_sdk_secretsmanager::Client::new(sdk),
            settings,
        }
    }

    /// The state store on `LOADOUT_STATE_TABLE`.
    pub fn state_store(&self, clock: Arc<dyn Clock>) -> Result<DynamoStateStore, AwsConfigError> {
        let table = self
            .settings
            .state_table
            .clone()
            .ok_or(AwsConfigError::Missing(env::STATE_TABLE))?;
        Ok(DynamoStateStore::new(self.dynamodb.clone(), table, clock))
    }

    /// The audit log on `LOADOUT_AUDIT_TABLE`.
    pub fn audit_log(&self) -> Result<DynamoAuditLog, AwsConfigError> {
        let table = self
            .settings
            .audit_table
            .clone()
            .ok_or(AwsConfigError::Missing(env::AUDIT_TABLE))?;
        Ok(DynamoAuditLog::new(self.dynamodb.clone(), table))
    }

    /// The queues whose URLs are configured; sending to any other logical name is
    /// `QueueError::UnknownQueue`.
    pub fn queue(&self) -> SqsQueue {
        SqsQueue::new(self.sqs.clone(), self.settings.queue_urls.clone())
    }

    /// The URL of one logical queue (`names::ENRICH`, `names::dead_letter(names::EXECUTE)`, ...).
    pub fn queue_url(&self, logical: &str) -> Result<&str, AwsConfigError> {
        if let Some(url) = self.settings.queue_urls.get(logical) {
            return Ok(url);
        }
        match env::QUEUE_URLS.iter().find(|(name, _)| *name == logical) {
            Some((_, var)) => Err(AwsConfigError::Missing(var)),
            None => Err(AwsConfigError::UnknownQueue(logical.to_owned())),
        }
    }

    /// The secrets of `LOADOUT_SECRET_ARN`, cached for `ttl`.
    pub fn secrets(&self, ttl: Duration) -> Result<SecretsManagerSecrets, AwsConfigError> {
        let id = self
            .settings
            .secret_id
            .clone()
            .ok_or(AwsConfigError::Missing(env::SECRET_ARN))?;
        Ok(SecretsManagerSecrets::new(
            self.secretsmanager.clone(),
            id,
            ttl,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::queue::names;

    #[test]
    fn settings_read_only_the_variables_that_are_set() {
        let vars: BTreeMap<&str, &str> = [
            (env::STATE_TABLE, "loadout-state"),
            (env::QUEUE_URL_EXECUTE, "https://sqs/1/execute.fifo"),
            (env::QUEUE_URL_EXECUTE_DLQ, "https://sqs/1/execute-dlq.fifo"),
            (env::AUDIT_TABLE, "  "),
        ]
        .into_iter()
        .collect();
        let s = AwsSettings::from_lookup(|k| vars.get(k).map(|v| (*v).to_owned()));
        assert_eq!(s.state_table.as_deref(), Some("loadout-state"));
        assert_eq!(s.audit_table, None, "blank counts as unset");
        assert_eq!(s.secret_id, None);
        assert_eq!(
            s.queue_urls
                .get(&names::dead_letter(names::EXECUTE))
                .map(String::as_str),
            Some("https://sqs/1/execute-dlq.fifo")
        );
        assert_eq!(s.queue_urls.len(), 2);
    }

    #[tokio::test]
    async fn a_missing_resource_names_its_variable() {
        let ctx = AwsContext::builder()
            .region("us-east-1")
            .static_credentials("test", "test")
            .load()
            .await;
        let err = ctx.audit_log().err().map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("environment variable LOADOUT_AUDIT_TABLE is not set")
        );
        assert!(matches!(
            ctx.queue_url("decide"),
            Err(AwsConfigError::Missing(env::QUEUE_URL_DECIDE))
        ));
    }
}
