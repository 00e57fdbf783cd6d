//! The port conformance suites (`loadout::ports::conformance`) against the AWS adapters, on a moto
//! server this test binary starts itself, plus the checks specific to AWS (provisioning, caching,
//! error mapping).
//!
//! The server is `loadout::adapters::aws::emulator::MotoServer` (which moto it runs, and why
//! serially). Without one these tests fail: they are never skipped.

use loadout::adapters::aws::emulator::MotoServer;
use loadout::adapters::aws::provision::{
    self, ProvisionSpec, create_audit_table, create_queue_with_dead_letter, create_secret,
    create_state_table, write_secret,
};
use loadout::adapters::aws::{
    AwsContext, AwsSettings, DynamoAuditLog, DynamoStateStore, SecretsManagerSecrets, SqsQueue,
};
use loadout::ports::conformance::{self, QueueFixture, unique};
use loadout::ports::queue::names;
use loadout::ports::secrets::keys;
use loadout::ports::{
    Condition, OutgoingMessage, Queue, QueueError, Secrets, StateStore, StoreError, SystemClock,
};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// A context on the emulator (one server for the whole test binary). Each test builds its own:
/// SDK clients keep connections on the runtime that opened them, and every `#[tokio::test]` has
/// its own runtime.
async fn aws(settings: AwsSettings) -> AwsContext {
    MotoServer::shared().context(settings).await
}

// ----------------------------------------------------------------------------------------------
// StateStore

#[tokio::test]
async fn dynamodb_state_store_passes_the_conformance_suite() {
    let ctx = aws(AwsSettings::default()).await;
    let table = unique("state");
    create_state_table(&ctx.dynamodb, &table)
        .await
        .expect("state table");
    let store: Arc<dyn StateStore> = Arc::new(DynamoStateStore::new(
        ctx.dynamodb.clone(),
        &table,
        Arc::new(SystemClock),
    ));
    conformance::run_state_store_suite(store, chrono::Utc::now()).await;
}

#[tokio::test]
async fn state_items_carry_the_ttl_attribute_that_dynamodb_expires_on() {
    let ctx = aws(AwsSettings::default()).await;
    let table = unique("state");
    create_state_table(&ctx.dynamodb, &table)
        .await
        .expect("state table");
    let store = DynamoStateStore::new(ctx.dynamodb.clone(), &table, Arc::new(SystemClock));
    let at = chrono::Utc::now().timestamp() + 600;
    store
        .put(
            "p",
            "s",
            serde_json::json!({"k": 1}),
            Some(at),
            Condition::None,
        )
        .await
        .expect("put");
    let raw = ctx
        .dynamodb
        .get_item()
        .table_name(&table)
        .key("pk", aws_sdk_dynamodb::types::AttributeValue::S("p".into()))
        .key("sk", aws_sdk_dynamodb::types::AttributeValue::S("s".into()))
        .send()
        .await
        .expect("raw get");
    let item = raw.item().expect("stored");
    assert_eq!(
        item.get("ttl").and_then(|v| v.as_n().ok()),
        Some(&at.to_string())
    );
    assert_eq!(
        item.get("data")
            .and_then(|v| v.as_s().ok())
            .map(String::as_str),
        Some(r#"{"k":1}"#)
    );
    store
        .put("p", "s", serde_json::json!(2), None, Condition::Version(1))
        .await
        .expect("rewrite without expiry");
    let item = store.get("p", "s").await.expect("get").expect("present");
    assert_eq!(
        (item.expires_at, item.version),
        (None, 2),
        "the expiry is removed"
    );
    let ttl = ctx
        .dynamodb
        .describe_time_to_live()
        .table_name(&table)
        .send()
        .await
        .expect("describe ttl");
    assert_eq!(
        ttl.time_to_live_description()
            .and_then(|d| d.attribute_name()),
        Some("ttl")
    );
}

#[tokio::test]
async fn a_missing_table_is_unavailable_and_names_the_aws_error() {
    let ctx = aws(AwsSettings::default()).await;
    let store = DynamoStateStore::new(
        ctx.dynamodb.clone(),
        unique("absent"),
        Arc::new(SystemClock),
    );
    match store.get("p", "s").await {
        Err(StoreError::Unavailable(message)) => {
            assert!(message.contains("ResourceNotFoundException"), "{message}")
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

// ----------------------------------------------------------------------------------------------
// AuditLog

#[tokio::test]
async fn dynamodb_audit_log_passes_the_conformance_suite() {
    let ctx = aws(AwsSettings::default()).await;
    let table = unique("audit");
    create_audit_table(&ctx.dynamodb, &table)
        .await
        .expect("audit table");
    let log = DynamoAuditLog::new(ctx.dynamodb.clone(), &table);
    conformance::run_audit_log_suite(&log, chrono::Utc::now()).await;
}

// ----------------------------------------------------------------------------------------------
// Queue

#[tokio::test]
async fn sqs_queue_passes_the_conformance_suite() {
    let ctx = aws(AwsSettings::default()).await;
    let name = unique("q");
    let standard = create_queue_with_dead_letter(&ctx.sqs, &name, false, 3)
        .await
        .expect("standard queue");
    let fifo = create_queue_with_dead_letter(&ctx.sqs, &unique("f"), true, 3)
        .await
        .expect("fifo queue");
    assert!(fifo.url.ends_with(".fifo") && fifo.dead_letter_url.ends_with("-dlq.fifo"));
    let urls = BTreeMap::from([
        ("standard".to_owned(), standard.url),
        ("standard-dlq".to_owned(), standard.dead_letter_url),
        ("fifo".to_owned(), fifo.url),
    ]);
    let queue = SqsQueue::new(ctx.sqs.clone(), urls);
    let fixture = QueueFixture {
        standard: "standard".into(),
        dead_letter: "standard-dlq".into(),
        max_receives: 3,
        fifo: "fifo".into(),
    };
    conformance::run_queue_suite(&queue, &fixture).await;
}

#[tokio::test]
async fn sqs_depth_counts_waiting_and_in_flight_messages() {
    let ctx = aws(AwsSettings::default()).await;
    let pair = create_queue_with_dead_letter(&ctx.sqs, &unique("depth"), false, 3)
        .await
        .expect("queue");
    let queue = SqsQueue::new(
        ctx.sqs.clone(),
        BTreeMap::from([("q".to_owned(), pair.url)]),
    );
    queue
        .send(
            "q",
            vec![
                OutgoingMessage::standard("a"),
                OutgoingMessage::standard("b"),
            ],
        )
        .await
        .expect("send");
    let got = queue
        .receive("q", 1, Duration::from_secs(30))
        .await
        .expect("receive");
    assert_eq!(got.len(), 1);
    assert_eq!(
        queue.depth("q").await.expect("depth"),
        2,
        "one waiting, one in flight"
    );
    queue.ack("q", &got[0].receipt).await.expect("ack");
    assert_eq!(queue.depth("q").await.expect("depth"), 1);
}

#[tokio::test]
async fn sqs_errors_map_to_the_port_errors() {
    let ctx = aws(AwsSettings::default()).await;
    let pair = create_queue_with_dead_letter(&ctx.sqs, &unique("err"), false, 3)
        .await
        .expect("queue");
    let queue = SqsQueue::new(
        ctx.sqs.clone(),
        BTreeMap::from([
            ("q".to_owned(), pair.url.clone()),
            ("gone".to_owned(), format!("{}-never-created", pair.url)),
        ]),
    );
    assert!(matches!(
        queue.send("nope", vec![OutgoingMessage::standard("x")]).await,
        Err(QueueError::UnknownQueue(name)) if name == "nope"
    ));
    assert!(matches!(
        queue.depth("gone").await,
        Err(QueueError::UnknownQueue(name)) if name == "gone"
    ));
    assert!(matches!(
        queue.ack("q", "not-a-receipt-handle").await,
        Err(QueueError::InvalidReceipt)
    ));
}

// ----------------------------------------------------------------------------------------------
// Secrets

#[tokio::test]
async fn secrets_manager_secrets_pass_the_conformance_suite() {
    let ctx = aws(AwsSettings::default()).await;
    let name = unique("secret");
    let arn = create_secret(&ctx.secretsmanager, &name, &BTreeMap::new())
        .await
        .expect("secret");
    let secrets =
        SecretsManagerSecrets::new(ctx.secretsmanager.clone(), &arn, Duration::from_secs(300));
    let client = ctx.secretsmanager.clone();
    conformance::run_secrets_suite(&secrets, |key, value| {
        let client = client.clone();
        let arn = arn.clone();
        async move {
            let document = BTreeMap::from([(key.to_owned(), value.to_owned())]);
            write_secret(&client, &arn, &document)
                .await
                .expect("write secret");
        }
    })
    .await;
}

#[tokio::test]
async fn secrets_are_read_once_per_ttl_until_refreshed() {
    let ctx = aws(AwsSettings::default()).await;
    let document = |v: &str| BTreeMap::from([(keys::ADMIN_TOKEN.to_owned(), v.to_owned())]);
    let arn = create_secret(&ctx.secretsmanager, &unique("secret"), &document("one"))
        .await
        .expect("secret");
    let secrets =
        SecretsManagerSecrets::new(ctx.secretsmanager.clone(), &arn, Duration::from_secs(300));
    let read = || async {
        secrets
            .get(keys::ADMIN_TOKEN)
            .await
            .expect("get")
            .map(|s| s.expose().to_owned())
    };
    assert_eq!(read().await.as_deref(), Some("one"));
    write_secret(&ctx.secretsmanager, &arn, &document("two"))
        .await
        .expect("rotate");
    assert_eq!(
        read().await.as_deref(),
        Some("one"),
        "served from the cache within the TTL"
    );
    secrets.refresh().await.expect("refresh");
    assert_eq!(
        read().await.as_deref(),
        Some("two"),
        "refresh reads the rotated value"
    );

    let uncached = SecretsManagerSecrets::new(ctx.secretsmanager.clone(), &arn, Duration::ZERO);
    write_secret(&ctx.secretsmanager, &arn, &document("three"))
        .await
        .expect("rotate");
    let value = uncached.get(keys::ADMIN_TOKEN).await.expect("get");
    assert_eq!(
        value.map(|s| s.expose().to_owned()).as_deref(),
        Some("three"),
        "a zero TTL always reads"
    );
}

// ----------------------------------------------------------------------------------------------
// Provisioning and the context

#[tokio::test]
async fn provisioning_creates_everything_the_context_needs_and_is_idempotent() {
    let bootstrap = aws(AwsSettings::default()).await;
    let mut spec = ProvisionSpec::new(unique("loadout"));
    spec.max_receive_count = 4;
    spec.secret = BTreeMap::from([(keys::ADMIN_TOKEN.to_owned(), "admin".to_owned())]);
    let first = provision::provision(&bootstrap, &spec)
        .await
        .expect("provision");
    let again = provision::provision(&bootstrap, &spec)
        .await
        .expect("provisioning twice is fine");
    assert_eq!(first, again, "the second run finds the same resources");
    let logical: Vec<&str> = first.queue_urls.keys().map(String::as_str).collect();
    assert_eq!(
        logical,
        [
            "decide",
            "decide-dlq",
            "enrich",
            "enrich-dlq",
            "execute",
            "execute-dlq",
            "flush",
            "flush-dlq"
        ]
    );
    assert!(first.queue_urls[names::EXECUTE].ends_with("-execute.fifo"));

    let redrive = bootstrap
        .sqs
        .get_queue_attributes()
        .queue_url(&first.queue_urls[names::ENRICH])
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy)
        .send()
        .await
        .expect("attributes");
    let policy: serde_json::Value = serde_json::from_str(
        redrive
            .attributes()
            .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy))
            .expect("redrive policy"),
    )
    .expect("json");
    assert_eq!(policy["maxReceiveCount"].to_string().trim_matches('"'), "4");

    let ctx = aws(first.settings(None)).await;
    let store = ctx.state_store(Arc::new(SystemClock)).expect("state store");
    assert_eq!(
        store
            .put("p", "s", serde_json::json!(1), None, Condition::NotExists)
            .await
            .expect("put"),
        1
    );
    ctx.queue()
        .send(
            names::EXECUTE,
            vec![OutgoingMessage::fifo("x", "user-1", "action-1")],
        )
        .await
        .expect("send to the FIFO execute queue");
    let token = ctx
        .secrets(Duration::from_secs(60))
        .expect("secrets")
        .get(keys::ADMIN_TOKEN)
        .await
        .expect("get");
    assert_eq!(
        token.map(|s| s.expose().to_owned()).as_deref(),
        Some("admin")
    );
    assert!(ctx.audit_log().is_ok());
}

// ----------------------------------------------------------------------------------------------
// Approval records (the state machine's compare-and-swap on DynamoDB)

#[path = "support/approvals_suite.rs"]
mod approvals_suite;

#[tokio::test]
async fn dynamodb_approval_records_move_only_by_compare_and_swap() {
    let ctx = aws(AwsSettings::default()).await;
    let table = unique("state");
    create_state_table(&ctx.dynamodb, &table)
        .await
        .expect("state table");
    let store: Arc<dyn StateStore> = Arc::new(DynamoStateStore::new(
        ctx.dynamodb.clone(),
        &table,
        Arc::new(SystemClock),
    ));
    approvals_suite::run_approval_store_suite(store, chrono::Utc::now()).await;
}
