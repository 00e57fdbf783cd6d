//! Lambda event payloads built from the samples in `tests/fixtures/lambda/`: an API Gateway HTTP
//! API (payload 2.0) request carrying a Standard Webhooks HR event, and SQS event source mapping
//! batches made from messages received from a real (emulated) queue. Only the per-event values
//! change; every other field is the sample's.

use aws_sdk_sqs::types::{Message, MessageSystemAttributeName};
use loadout::webhook::standard_webhooks;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/lambda")
}

fn fixture(name: &str) -> Value {
    let path = fixtures_dir().join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// The Standard Webhooks headers of one delivery.
#[derive(Debug, Clone)]
pub struct Signed {
    pub webhook_id: String,
    pub timestamp: i64,
    pub signature: String,
}

impl Signed {
    /// Signs `body` with the key of a `whsec_` secret.
    pub fn new(whsec: &str, webhook_id: &str, timestamp: i64, body: &[u8]) -> Self {
        let key = standard_webhooks::decode_secret(whsec).expect("a whsec_ secret");
        Self::with_key(&key, webhook_id, timestamp, body)
    }

    /// Signs with raw key bytes (a forger's key, for instance).
    pub fn with_key(key: &[u8], webhook_id: &str, timestamp: i64, body: &[u8]) -> Self {
        Self {
            webhook_id: webhook_id.to_owned(),
            timestamp,
            signature: standard_webhooks::sign(key, webhook_id, timestamp, body),
        }
    }
}

/// `POST /webhooks/hris` as API Gateway hands it to webhook-intake (JSON text of payload 2.0).
pub fn hris_request(body: &[u8], signed: &Signed) -> String {
    let mut event = fixture("apigw-v2-hris-request.json");
    let text = String::from_utf8(body.to_vec()).expect("HR bodies are UTF-8 JSON");
    let headers = &mut event["headers"];
    headers["content-length"] = json!(body.len().to_string());
    headers["webhook-id"] = json!(signed.webhook_id);
    headers["webhook-timestamp"] = json!(signed.timestamp.to_string());
    headers["webhook-signature"] = json!(signed.signature);
    let now = chrono::Utc::now();
    let context = &mut event["requestContext"];
    context["requestId"] = json!(uuid::Uuid::new_v4().simple().to_string());
    context["time"] = json!(now.format("%d/%b/%Y:%H:%M:%S %z").to_string());
    context["timeEpoch"] = json!(now.timestamp_millis());
    event["body"] = json!(text);
    event["isBase64Encoded"] = json!(false);
    event.to_string()
}

/// `POST /approvals/servicenow` as API Gateway hands it to approval-callback, with this body and
/// `Authorization` header (JSON text of payload 2.0).
pub fn servicenow_callback_request(body: &[u8], authorization: &str) -> String {
    let mut event = fixture("apigw-v2-servicenow-callback.json");
    let text = String::from_utf8(body.to_vec()).expect("callback bodies are UTF-8 JSON");
    let headers = &mut event["headers"];
    headers["content-length"] = json!(body.len().to_string());
    headers["authorization"] = json!(authorization);
    let now = chrono::Utc::now();
    let context = &mut event["requestContext"];
    context["requestId"] = json!(uuid::Uuid::new_v4().simple().to_string());
    context["time"] = json!(now.format("%d/%b/%Y:%H:%M:%S %z").to_string());
    context["timeEpoch"] = json!(now.timestamp_millis());
    event["body"] = json!(text);
    event.to_string()
}

/// An SQS event (JSON text) of `messages` as the event source mapping delivers them from the
/// queue `queue_arn`: each message's system attributes (receive count, timestamps, FIFO group,
/// deduplication id and sequence number) become the record's `attributes`.
pub fn sqs_event(messages: &[Message], queue_arn: &str) -> String {
    let mut event = fixture("sqs-event.json");
    let template = event["Records"][0].clone();
    let region = queue_arn.split(':').nth(3).unwrap_or("us-east-1");
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            let mut record = template.clone();
            record["messageId"] = json!(m.message_id().unwrap_or_default());
            record["receiptHandle"] = json!(m.receipt_handle().unwrap_or_default());
            record["body"] = json!(m.body().unwrap_or_default());
            record["md5OfBody"] = json!(m.md5_of_body().unwrap_or_default());
            let mut attributes = serde_json::Map::new();
            if let Some(system) = m.attributes() {
                for (name, value) in system {
                    attributes.insert(name.as_str().to_owned(), json!(value));
                }
            }
            if !attributes
                .contains_key(MessageSystemAttributeName::ApproximateReceiveCount.as_str())
            {
                attributes.insert("ApproximateReceiveCount".into(), json!("1"));
            }
            record["attributes"] = Value::Object(attributes);
            record["messageAttributes"] = json!({});
            record["eventSourceARN"] = json!(queue_arn);
            record["awsRegion"] = json!(region);
            record
        })
        .collect();
    event["Records"] = Value::Array(records);
    event.to_string()
}
