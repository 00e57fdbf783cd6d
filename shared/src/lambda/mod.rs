//! The glue every Lambda handler shares, so that each `main.rs` stays a few lines: logging, the
//! ports built once per instance from the environment, SQS events to batches and batch reports
//! to `batchItemFailures`.

use crate::adapters::aws::{AwsConfigError, AwsContext, DEFAULT_SECRET_TTL};
use crate::config::{ConfigError, Settings};
use crate::ports::secrets::keys;
use crate::ports::{Clock, NoSecrets, Secrets, SystemClock};
use crate::sources::{DirectorySources, ReadBudget};
use crate::stages::Services;
use crate::stages::batch::{BatchReport, InboundMessage};
use crate::uem::{CredentialSource, UemApi, UemClient, UemConfig, UemError};
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;

pub mod handlers;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Aws(#[from] AwsConfigError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("UEM: {0}")]
    Uem(#[from] UemError),
    #[error("{0} is not set")]
    Missing(&'static str),
    #[error("directory source: {0}")]
    Source(#[from] crate::sources::SourceError),
    #[error("ServiceNow: {0}")]
    ServiceNow(#[from] crate::servicenow::ServiceNowError),
    #[error("notifications: {0}")]
    Notify(#[from] crate::notify::NotifyError),
    #[error("license reclamation: {0}")]
    Reclaim(#[from] crate::stages::reclaim::SetupError),
    /// An inbound secret is set but too weak to use; the message names the setting.
    #[error(transparent)]
    Secret(#[from] crate::webhook::secret::InvalidSecret),
}

/// JSON logs to stdout, level from `AWS_LAMBDA_LOG_LEVEL` or `RUST_LOG` (default info).
pub fn init_tracing() {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt()
        .json()
        .with_env_filter(tracing_subscriber::EnvFilter::new(level))
        .with_target(false)
        .with_current_span(true);
    // `LOADOUT_TRACE_SPANS=1`: a line per span closed, with its busy and idle time (the
    // coldstart bench's per-phase figures; off in a deployment, where it would be noise).
    // Span timings need the timer, which Lambda's own log timestamps otherwise make redundant.
    let _ = if std::env::var_os("LOADOUT_TRACE_SPANS").is_some() {
        builder
            .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
            .try_init()
    } else {
        builder.without_time().try_init()
    };
}

/// The ports of one Lambda instance, primed ([`prime`]). `with_secrets`: whether this function
/// reads the secret.
pub async fn services_from_env(with_secrets: bool) -> Result<(Services, AwsContext), StartupError> {
    let aws = AwsContext::from_env()
        .instrument(tracing::info_span!("init.aws_config"))
        .await;
    let services = services_from_context(&aws, with_secrets, Settings::from_env()?)?;
    prime(&services, with_secrets)
        .instrument(tracing::info_span!("init.prime"))
        .await;
    Ok((services, aws))
}

/// The ports on an already built context (what [`services_from_env`] does after loading it; tests
/// call it with a context on the emulator).
pub fn services_from_context(
    aws: &AwsContext,
    with_secrets: bool,
    settings: Settings,
) -> Result<Services, StartupError> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let secrets: Arc<dyn Secrets> = if with_secrets {
        Arc::new(aws.secrets(DEFAULT_SECRET_TTL)?)
    } else {
        Arc::new(NoSecrets)
    };
    Ok(Services {
        store: Arc::new(aws.state_store(clock.clone())?),
        audit: Arc::new(aws.audit_log()?),
        queue: Arc::new(aws.queue()),
        secrets,
        clock,
        settings,
    })
}

/// The longest init waits for priming; past it the first invocation pays instead.
const PRIME_TIMEOUT: Duration = Duration::from_secs(2);

/// Pays during init (which Lambda runs at full CPU) what the first invocation would otherwise
/// pay: the SDK's credentials and a first (TLS) connection to DynamoDB, by one GetItem of a key
/// that never exists on the state table (every function's role allows GetItem there), and the
/// secret document when the function reads it. Both run at once; a failure or a timeout is
/// logged and left to the first invocation, never fatal. Nothing here runs per invocation.
pub async fn prime(services: &Services, with_secrets: bool) {
    let store = async {
        if let Err(e) = services.store.get(crate::keys::PRIME_PK, "prime").await {
            tracing::warn!(error = %e, "priming the state table failed");
        }
    };
    let secrets = async {
        if with_secrets && let Err(e) = services.secrets.get(keys::HRIS_HMAC_SECRET).await {
            tracing::warn!(error = %e, "priming the secret failed");
        }
    };
    if tokio::time::timeout(PRIME_TIMEOUT, async { tokio::join!(store, secrets) })
        .await
        .is_err()
    {
        tracing::warn!("priming took longer than {PRIME_TIMEOUT:?}; continuing without");
    }
}

/// Refuses to start when an inbound secret is set but unusable (shorter than 16 bytes, or not a
/// key), naming the setting, so a weak secret is found at deploy time rather than accepted. A
/// secret document that cannot be read now is left to the first request (which answers 503 and
/// reads it again), as priming is.
pub async fn check_inbound_secrets(services: &Services) -> Result<(), StartupError> {
    use crate::stages::inbound_secrets::{InboundSecretError, check_all};
    match check_all(services.secrets.as_ref()).await {
        Ok(()) => Ok(()),
        Err(InboundSecretError::Invalid(invalid)) => Err(invalid.into()),
        Err(e @ InboundSecretError::Unavailable { .. }) => {
            tracing::warn!(error = %e, "inbound secrets not checked at start-up");
            Ok(())
        }
    }
}

/// The UEM client for a function that calls UEM (base URL and credentials from the environment
/// and the secret).
pub async fn uem_from_env(services: &Services) -> Result<Arc<dyn UemApi>, StartupError> {
    let base = std::env::var("LOADOUT_UEM_BASE_URL")
        .map_err(|_| StartupError::Missing("LOADOUT_UEM_BASE_URL"))?;
    let token_url = std::env::var("LOADOUT_UEM_TOKEN_URL").ok();
    uem_client(services, &base, token_url.as_deref()).await
}

/// The UEM client on `base_url`, with the credentials of the secret.
pub async fn uem_client(
    services: &Services,
    base_url: &str,
    token_url: Option<&str>,
) -> Result<Arc<dyn UemApi>, StartupError> {
    let config = UemConfig::from_secrets(services.secrets.as_ref(), base_url, token_url)
        .await?
        .requests_per_minute(services.settings.uem_requests_per_minute)
        .organization_group_id(services.settings.uem_organization_group_id.as_deref());
    let client = UemClient::new(config, services.store.clone(), services.clock.clone())?
        // A rotation in Secrets Manager reaches the client at its next refusal, no redeploy.
        .with_credential_source(CredentialSource {
            secrets: services.secrets.clone(),
            base_url: base_url.to_owned(),
            token_url: token_url.map(str::to_owned),
        });
    Ok(Arc::new(client))
}

/// The directories enrichment reads people from (Graph, BambooHR), as far as the environment
/// and the secret configure them.
pub async fn sources_from_env(services: &Services) -> Result<DirectorySources, StartupError> {
    let lookup = |name: &str| std::env::var(name).ok();
    let sources = DirectorySources::from_settings(&lookup, &services.secrets)
        .await?
        .with_read_budget(ReadBudget::new(
            services.store.clone(),
            services.clock.clone(),
            services.settings.directory_requests_per_minute,
        ));
    tracing::info!(configured = ?sources.configured(), "directory sources");
    Ok(sources)
}

/// Slack notices as the environment configures them (`LOADOUT_SLACK_WEBHOOK_URL` in the secret;
/// none are sent without it).
pub fn notifier_from_env(
    services: &Services,
) -> Result<Arc<dyn crate::notify::Notifier>, StartupError> {
    use crate::notify::{SlackNotifier, SlackSettings};
    let lookup = |name: &str| std::env::var(name).ok();
    Ok(Arc::new(SlackNotifier::new(
        services.secrets.clone(),
        services.clock.clone(),
        SlackSettings::from_lookup(lookup),
    )?))
}

/// The approval stage of a function that opens approval requests: through ServiceNow when
/// `LOADOUT_SERVICENOW_BASE_URL` is set (with `LOADOUT_SERVICENOW_NAMESPACE` and
/// `LOADOUT_PUBLIC_BASE_URL`; credentials from the secret at call time), with Slack notices
/// (`LOADOUT_SLACK_WEBHOOK_URL` in the secret; none sent without it).
pub fn approvals_from_env(
    services: &Services,
) -> Result<crate::stages::approve::Approvals, StartupError> {
    use crate::servicenow::{ServiceNowClient, ServiceNowConfig};
    let lookup = |name: &str| std::env::var(name).ok();
    let approvals = crate::stages::approve::Approvals::new(services.clone())
        .with_notifier(notifier_from_env(services)?);
    Ok(match ServiceNowConfig::from_lookup(lookup)? {
        Some(config) => {
            let callback_url = config.callback_url.clone();
            let client =
                ServiceNowClient::new(config, services.secrets.clone(), services.clock.clone())?;
            approvals.with_servicenow(Arc::new(client), callback_url)
        }
        None => approvals,
    })
}

/// Whether ServiceNow takes approvals (`LOADOUT_SERVICENOW_BASE_URL` set; an error when it is
/// set halfway): the decision engine then hands held assignments to the executor.
pub fn servicenow_configured_from_env() -> Result<bool, StartupError> {
    let lookup = |name: &str| std::env::var(name).ok();
    Ok(crate::servicenow::ServiceNowConfig::from_lookup(lookup)?.is_some())
}

/// The license reclaimer as the environment configures it (`stages::reclaim::configured`).
pub fn reclaimer_from_env(
    services: &Services,
) -> Result<crate::stages::reclaim::Reclaimer, StartupError> {
    let lookup = |name: &str| std::env::var(name).ok();
    Ok(crate::stages::reclaim::configured(
        services, &lookup, None, None,
    )?)
}

/// The messages of an SQS event, with their receive counts.
pub fn sqs_messages(event: SqsEvent) -> Vec<InboundMessage> {
    event
        .records
        .into_iter()
        .map(|record| InboundMessage {
            receive_count: record
                .attributes
                .get("ApproximateReceiveCount")
                .and_then(|c| c.parse().ok())
                .unwrap_or(1),
            group_id: record.attributes.get("MessageGroupId").cloned(),
            message_id: record.message_id.unwrap_or_default(),
            body: record.body.unwrap_or_default(),
        })
        .collect()
}

/// `batchItemFailures` for the messages to redeliver (needs `ReportBatchItemFailures`).
pub fn batch_response(report: BatchReport) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for id in report.failed {
        let mut failure = BatchItemFailure::default();
        failure.item_identifier = id;
        response.batch_item_failures.push(failure);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqs_records_become_messages_with_their_receive_count() {
        let event: SqsEvent = serde_json::from_value(serde_json::json!({
            "Records": [{
                "messageId": "m-1",
                "receiptHandle": "r",
                "body": "{\"x\":1}",
                "attributes": {"ApproximateReceiveCount": "3", "SentTimestamp": "1"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:enrich",
                "awsRegion": "us-east-1"
            }]
        }))
        .expect("an SQS event");
        let messages = sqs_messages(event);
        assert_eq!(messages[0].message_id, "m-1");
        assert_eq!(messages[0].receive_count, 3);
    }

    #[tokio::test]
    async fn a_short_inbound_secret_refuses_the_start_naming_the_setting() {
        use crate::adapters::local::{LocalDb, LocalSecrets, SqliteAuditLog, SqliteQueue};
        use crate::adapters::local::{QueueSpec, SqliteStateStore};
        let db = LocalDb::in_memory().expect("db");
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let values = std::collections::HashMap::from([(
            keys::OKTA_AUTHORIZATION.to_owned(),
            "Basic".to_owned(),
        )]);
        let services = Services {
            store: Arc::new(SqliteStateStore::new(db.clone(), clock.clone())),
            audit: Arc::new(SqliteAuditLog::new(db.clone())),
            queue: Arc::new(SqliteQueue::new(db, clock.clone(), QueueSpec::pipeline(5))),
            secrets: Arc::new(LocalSecrets::with_loader(Box::new(move || values.clone()))),
            clock,
            settings: Settings::default(),
        };
        let err = check_inbound_secrets(&services).await.expect_err("weak");
        assert!(
            err.to_string().contains("LOADOUT_OKTA_AUTHORIZATION"),
            "{err}"
        );
    }

    #[test]
    fn failed_messages_become_batch_item_failures() {
        let report = BatchReport {
            failed: vec!["a".into(), "b".into()],
            ..BatchReport::default()
        };
        let json = serde_json::to_value(batch_response(report)).expect("serializes");
        assert_eq!(
            json,
            serde_json::json!({"batchItemFailures": [{"itemIdentifier": "a"}, {"itemIdentifier": "b"}]})
        );
    }
}
