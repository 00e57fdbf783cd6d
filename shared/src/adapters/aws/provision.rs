//! Creates Loadout's AWS resources through the SDK: for the emulator in tests and for a future
//! `loadout local --aws`. A deployment gets the same shapes from infra/template.yaml; keep the two
//! in step (key schema, indexes, TTL attribute, queue kinds, redrive).
//!
//! Every step is idempotent: what exists already is kept (an existing secret keeps its value).

use super::audit_log::{BY_APP_INDEX, BY_USER_INDEX};
use super::context::{AwsContext, AwsSettings};
use super::sdk_error::describe;
use super::state_store::{PK, SK, TTL};
use crate::ports::queue::names;
use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification, TimeToLiveStatus,
};
use aws_sdk_sqs::types::QueueAttributeName;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

/// How long to wait for a new table to become ACTIVE.
const TABLE_WAIT: Duration = Duration::from_secs(120);
/// Dead-letter queues keep messages for the SQS maximum, 14 days, so there is time to replay.
const DLQ_RETENTION_SECS: &str = "1209600";

#[derive(Debug, thiserror::Error)]
#[error("provisioning {resource} failed: {message}")]
pub struct ProvisionError {
    pub resource: String,
    pub message: String,
}

fn failed(resource: &str, message: impl Into<String>) -> ProvisionError {
    ProvisionError {
        resource: resource.to_owned(),
        message: message.into(),
    }
}

/// What to create. Names are `<prefix>-state`, `<prefix>-audit`, `<prefix>-enrich` (+ `-dlq`),
/// `<prefix>-decide` (+ `-dlq`), `<prefix>-execute.fifo` (+ `<prefix>-execute-dlq.fifo`) and the
/// secret `<prefix>/secrets`.
#[derive(Debug, Clone)]
pub struct ProvisionSpec {
    pub prefix: String,
    /// Receives before a message moves to its dead-letter queue.
    pub max_receive_count: u32,
    /// The secret document to create (only if the secret does not exist yet).
    pub secret: BTreeMap<String, String>,
}

impl ProvisionSpec {
    pub fn new(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
            max_receive_count: 5,
            secret: BTreeMap::new(),
        }
    }
}

/// What was created: the names and URLs the adapters need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provisioned {
    pub state_table: String,
    pub audit_table: String,
    /// Logical name (`enrich`, `enrich-dlq`, ..., `execute-dlq`) -> URL.
    pub queue_urls: BTreeMap<String, String>,
    pub secret_arn: String,
}

impl Provisioned {
    /// Settings for an [`AwsContext`] over these resources.
    pub fn settings(&self, endpoint_url: Option<String>) -> AwsSettings {
        AwsSettings {
            endpoint_url,
            state_table: Some(self.state_table.clone()),
            audit_table: Some(self.audit_table.clone()),
            queue_urls: self.queue_urls.clone(),
            secret_id: Some(self.secret_arn.clone()),
        }
    }
}

/// Creates everything of `spec`.
pub async fn provision(
    ctx: &AwsContext,
    spec: &ProvisionSpec,
) -> Result<Provisioned, ProvisionError> {
    let state_table = format!("{}-state", spec.prefix);
    let audit_table = format!("{}-audit", spec.prefix);
    create_state_table(&ctx.dynamodb, &state_table).await?;
    create_audit_table(&ctx.dynamodb, &audit_table).await?;
    let mut queue_urls = BTreeMap::new();
    for logical in [names::ENRICH, names::DECIDE, names::EXECUTE, names::FLUSH] {
        let fifo = names::is_fifo(logical);
        let name = format!("{}-{logical}", spec.prefix);
        let pair =
            create_queue_with_dead_letter(&ctx.sqs, &name, fifo, spec.max_receive_count).await?;
        queue_urls.insert(logical.to_owned(), pair.url);
        queue_urls.insert(names::dead_letter(logical), pair.dead_letter_url);
    }
    let secret_arn = create_secret(
        &ctx.secretsmanager,
        &format!("{}/secrets", spec.prefix),
        &spec.secret,
    )
    .await?;
    Ok(Provisioned {
        state_table,
        audit_table,
        queue_urls,
        secret_arn,
    })
}

fn attribute(name: &str) -> Result<AttributeDefinition, ProvisionError> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(|e| failed(name, e.to_string()))
}

fn key(name: &str, kind: KeyType) -> Result<KeySchemaElement, ProvisionError> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .map_err(|e| failed(name, e.to_string()))
}

/// Creates an on-demand table unless it exists, then waits for it to be ACTIVE.
async fn create_table(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    attributes: Vec<AttributeDefinition>,
    keys: Vec<KeySchemaElement>,
    indexes: Vec<GlobalSecondaryIndex>,
) -> Result<(), ProvisionError> {
    let created = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .set_attribute_definitions(Some(attributes))
        .set_key_schema(Some(keys))
        .set_global_secondary_indexes((!indexes.is_empty()).then_some(indexes))
        .send()
        .await;
    match created {
        Ok(_) => {}
        Err(e)
            if e.as_service_error()
                .is_some_and(|se| se.is_resource_in_use_exception()) => {}
        Err(e) => return Err(failed(table, describe("CreateTable", &e))),
    }
    client
        .wait_until_table_exists()
        .table_name(table)
        .wait(TABLE_WAIT)
        .await
        .map_err(|e| failed(table, DisplayErrorContext(e).to_string()))?;
    Ok(())
}

/// The state table: `pk`/`sk` strings, on demand, TTL on `ttl`.
pub async fn create_state_table(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
) -> Result<(), ProvisionError> {
    create_table(
        client,
        table,
        vec![attribute(PK)?, attribute(SK)?],
        vec![key(PK, KeyType::Hash)?, key(SK, KeyType::Range)?],
        Vec::new(),
    )
    .await?;
    enable_ttl(client, table).await
}

async fn enable_ttl(client: &aws_sdk_dynamodb::Client, table: &str) -> Result<(), ProvisionError> {
    let current = client
        .describe_time_to_live()
        .table_name(table)
        .send()
        .await
        .map_err(|e| failed(table, describe("DescribeTimeToLive", &e)))?;
    let status = current
        .time_to_live_description()
        .and_then(|d| d.time_to_live_status());
    if matches!(
        status,
        Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
    ) {
        return Ok(());
    }
    let spec = TimeToLiveSpecification::builder()
        .attribute_name(TTL)
        .enabled(true)
        .build()
        .map_err(|e| failed(table, e.to_string()))?;
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(spec)
        .send()
        .await
        .map_err(|e| failed(table, describe("UpdateTimeToLive", &e)))?;
    Ok(())
}

/// The audit table: `pk` = correlation id, `sk` = record id, and the indexes `by_user`
/// (user_id, record_id) and `by_app` (app_id, record_id), projecting everything; TTL on `ttl`.
pub async fn create_audit_table(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
) -> Result<(), ProvisionError> {
    let index = |name: &str, hash: &str| -> Result<GlobalSecondaryIndex, ProvisionError> {
        GlobalSecondaryIndex::builder()
            .index_name(name)
            .key_schema(key(hash, KeyType::Hash)?)
            .key_schema(key("record_id", KeyType::Range)?)
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::All)
                    .build(),
            )
            .build()
            .map_err(|e| failed(name, e.to_string()))
    };
    create_table(
        client,
        table,
        vec![
            attribute(PK)?,
            attribute(SK)?,
            attribute("user_id")?,
            attribute("app_id")?,
            attribute("record_id")?,
        ],
        vec![key(PK, KeyType::Hash)?, key(SK, KeyType::Range)?],
        vec![
            index(BY_USER_INDEX, "user_id")?,
            index(BY_APP_INDEX, "app_id")?,
        ],
    )
    .await?;
    // Only refusals carry the attribute (the same name as the state table's).
    enable_ttl(client, table).await
}

/// A queue and its dead-letter queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuePair {
    pub url: String,
    pub dead_letter_url: String,
}

/// Creates `<name>-dlq` and `<name>` (with `.fifo` suffixes when `fifo`), the latter redriving
/// to the former after `max_receive_count` receives. FIFO queues have content-based
/// deduplication off: senders give a deduplication id (the action id).
pub async fn create_queue_with_dead_letter(
    client: &aws_sdk_sqs::Client,
    name: &str,
    fifo: bool,
    max_receive_count: u32,
) -> Result<QueuePair, ProvisionError> {
    let suffix = if fifo { ".fifo" } else { "" };
    let mut common = HashMap::new();
    if fifo {
        common.insert(QueueAttributeName::FifoQueue, "true".to_owned());
        common.insert(
            QueueAttributeName::ContentBasedDeduplication,
            "false".to_owned(),
        );
    }
    let mut dlq_attributes = common.clone();
    dlq_attributes.insert(
        QueueAttributeName::MessageRetentionPeriod,
        DLQ_RETENTION_SECS.to_owned(),
    );
    let dlq_name = format!("{name}-dlq{suffix}");
    let dead_letter_url = create_queue(client, &dlq_name, dlq_attributes).await?;
    let arn = client
        .get_queue_attributes()
        .queue_url(&dead_letter_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| failed(&dlq_name, describe("GetQueueAttributes", &e)))?
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn))
        .cloned()
        .ok_or_else(|| failed(&dlq_name, "no QueueArn attribute"))?;
    let redrive = serde_json::json!({
        "deadLetterTargetArn": arn,
        "maxReceiveCount": max_receive_count,
    });
    let mut attributes = common;
    attributes.insert(QueueAttributeName::RedrivePolicy, redrive.to_string());
    let url = create_queue(client, &format!("{name}{suffix}"), attributes).await?;
    Ok(QueuePair {
        url,
        dead_letter_url,
    })
}

/// CreateQueue; if a queue of that name exists with other attributes, they are set on it.
async fn create_queue(
    client: &aws_sdk_sqs::Client,
    name: &str,
    attributes: HashMap<QueueAttributeName, String>,
) -> Result<String, ProvisionError> {
    let created = client
        .create_queue()
        .queue_name(name)
        .set_attributes(Some(attributes.clone()))
        .send()
        .await;
    match created {
        Ok(out) => out
            .queue_url()
            .map(str::to_owned)
            .ok_or_else(|| failed(name, "CreateQueue returned no URL")),
        Err(e)
            if e.as_service_error()
                .is_some_and(|se| se.is_queue_name_exists()) =>
        {
            let url = client
                .get_queue_url()
                .queue_name(name)
                .send()
                .await
                .map_err(|e| failed(name, describe("GetQueueUrl", &e)))?
                .queue_url()
                .map(str::to_owned)
                .ok_or_else(|| failed(name, "GetQueueUrl returned no URL"))?;
            // FifoQueue cannot be changed after creation; everything else can.
            let mut changeable = attributes;
            changeable.remove(&QueueAttributeName::FifoQueue);
            client
                .set_queue_attributes()
                .queue_url(&url)
                .set_attributes(Some(changeable))
                .send()
                .await
                .map_err(|e| failed(name, describe("SetQueueAttributes", &e)))?;
            Ok(url)
        }
        Err(e) => Err(failed(name, describe("CreateQueue", &e))),
    }
}

/// Creates the secret holding `values` as one JSON object and returns its ARN. An existing
/// secret is kept as it is (its value is not overwritten).
pub async fn create_secret(
    client: &aws_sdk_secretsmanager::Client,
    name: &str,
    values: &BTreeMap<String, String>,
) -> Result<String, ProvisionError> {
    let document = serde_json::to_string(values).map_err(|e| failed(name, e.to_string()))?;
    let created = client
        .create_secret()
        .name(name)
        .description("Loadout secrets: one JSON object of strings")
        .secret_string(document)
        .send()
        .await;
    match created {
        Ok(out) => out
            .arn()
            .map(str::to_owned)
            .ok_or_else(|| failed(name, "CreateSecret returned no ARN")),
        Err(e)
            if e.as_service_error()
                .is_some_and(|se| se.is_resource_exists_exception()) =>
        {
            client
                .describe_secret()
                .secret_id(name)
                .send()
                .await
                .map_err(|e| failed(name, describe("DescribeSecret", &e)))?
                .arn()
                .map(str::to_owned)
                .ok_or_else(|| failed(name, "DescribeSecret returned no ARN"))
        }
        Err(e) => Err(failed(name, describe("CreateSecret", &e))),
    }
}

/// Replaces the secret's value (a new AWSCURRENT version), e.g. to rotate a key by hand.
pub async fn write_secret(
    client: &aws_sdk_secretsmanager::Client,
    secret_id: &str,
    values: &BTreeMap<String, String>,
) -> Result<(), ProvisionError> {
    let document = serde_json::to_string(values).map_err(|e| failed(secret_id, e.to_string()))?;
    client
        .put_secret_value()
        .secret_id(secret_id)
        .secret_string(document)
        .send()
        .await
        .map_err(|e| failed(secret_id, describe("PutSecretValue", &e)))?;
    Ok(())
}
