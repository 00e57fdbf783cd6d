//! The spine on AWS: the same joiner, mover, leaver, duplicate and forged deliveries as
//! `spine.rs`, but on the DynamoDB, SQS and Secrets Manager adapters against moto, through the
//! Lambda handlers themselves (`loadout::lambda::handlers`) on API Gateway and SQS payloads built
//! from `tests/fixtures/lambda/`, into the UEM simulator. Assertions are on what UEM holds.
//!
//! moto is started by the test (`loadout::adapters::aws::emulator`); without one these tests fail.

use loadout::domain::{AuditKind, UserId};
use loadout::governance::Mode;
use loadout::ports::AuditQuery;
use loadout::ports::queue::names;
use loadout_e2e::aws::{AwsStack, Pipeline};
use loadout_e2e::lambda_events::{self, Signed};
use loadout_e2e::{Examples, hr_event, normalize_modes};
use std::collections::BTreeMap;
use std::time::Duration;

const SETTLE: Duration = Duration::from_secs(120);

fn uem_apps(stack: &AwsStack, user: &str) -> BTreeMap<String, String> {
    normalize_modes(stack.sim.effective_apps(user))
}

async fn stack(tag: &str) -> (AwsStack, Pipeline) {
    let stack = AwsStack::start(tag, Mode::Auto).await;
    let pipeline = Pipeline::new(&stack).await;
    (stack, pipeline)
}

#[test]
fn the_payload_samples_parse_as_lambda_events() {
    let body = br#"{"event_id":"e-1","type":"joiner"}"#;
    let signed = Signed::with_key(b"0123456789abcdef", "msg_1", 1_795_780_800, body);
    let request = lambda_http::request::from_str(&lambda_events::hris_request(body, &signed))
        .expect("API Gateway payload 2.0");
    assert_eq!(request.method(), http::Method::POST);
    assert_eq!(request.uri().path(), "/webhooks/hris");
    assert_eq!(request.headers()["webhook-id"], "msg_1");
    assert_eq!(request.body().as_ref(), body);

    let sample = std::fs::read_to_string(lambda_events::fixtures_dir().join("sqs-event.json"))
        .expect("sample");
    let event: aws_lambda_events::event::sqs::SqsEvent =
        serde_json::from_str(&sample).expect("an SQS event");
    let record = &event.records[0];
    assert_eq!(record.event_source.as_deref(), Some("aws:sqs"));
    assert_eq!(record.attributes["ApproximateReceiveCount"], "1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joiner_gets_exactly_the_apps_the_policies_entitle() {
    let ex = Examples::load();
    let (stack, pipeline) = stack("joiner").await;
    let joiner = ex.with_devices("Sales").remove(0);
    let sent = pipeline
        .post_hris(stack.whsec(), &hr_event("joiner", &joiner, &[]), "joiner-1")
        .await;
    assert_eq!(sent.status, 202, "{:?}", sent.body);
    assert!(sent.body["event_id"].is_string() && sent.body["correlation_id"].is_string());
    assert!(pipeline.settle(SETTLE).await, "the pipeline settles");
    let expected = ex.expected_apps(&joiner);
    assert!(!expected.is_empty());
    assert_eq!(uem_apps(&stack, joiner.id.as_str()), expected);

    // Every function left its mark in the DynamoDB audit table under the event's correlation id.
    let services = stack.services(false).await;
    let trail = loadout_e2e::trail_of(
        services.audit.as_ref(),
        sent.body["correlation_id"].as_str().expect("id"),
    )
    .await;
    loadout_e2e::assert_every_stage_left_its_mark(&trail);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mover_loses_old_department_apps_and_gains_the_new_ones() {
    let ex = Examples::load();
    let (stack, pipeline) = stack("mover").await;
    let before = ex.with_devices("Sales").remove(1);
    let sent = pipeline
        .post_hris(stack.whsec(), &hr_event("update", &before, &[]), "mover-0")
        .await;
    assert_eq!(sent.status, 202, "{:?}", sent.body);
    assert!(pipeline.settle(SETTLE).await);
    assert_eq!(
        uem_apps(&stack, before.id.as_str()),
        ex.expected_apps(&before)
    );

    let mut after = before.clone();
    after.department = "Marketing".into();
    after.title = "Marketing Manager".into();
    after.groups = after
        .groups
        .iter()
        .filter(|g| g.as_str() != "sales")
        .cloned()
        .chain(["marketing".to_owned()])
        .collect();
    let sent = pipeline
        .post_hris(
            stack.whsec(),
            &hr_event("mover", &after, &["department", "title"]),
            "mover-1",
        )
        .await;
    assert_eq!(sent.status, 202, "{:?}", sent.body);
    assert!(pipeline.settle(SETTLE).await);
    let expected_after = ex.expected_apps(&after);
    assert_ne!(ex.expected_apps(&before), expected_after);
    assert_eq!(uem_apps(&stack, after.id.as_str()), expected_after);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaver_ends_with_no_loadout_managed_apps() {
    let ex = Examples::load();
    let (stack, pipeline) = stack("leaver").await;
    let user = ex.with_devices("Engineering").remove(0);
    pipeline
        .post_hris(stack.whsec(), &hr_event("update", &user, &[]), "leaver-0")
        .await;
    assert!(pipeline.settle(SETTLE).await);
    assert!(!uem_apps(&stack, user.id.as_str()).is_empty());
    let sent = pipeline
        .post_hris(stack.whsec(), &hr_event("leaver", &user, &[]), "leaver-1")
        .await;
    assert_eq!(sent.status, 202, "{:?}", sent.body);
    assert!(pipeline.settle(SETTLE).await);
    assert!(
        uem_apps(&stack, user.id.as_str()).is_empty(),
        "left with {:?}",
        uem_apps(&stack, user.id.as_str())
    );
    let managed = stack
        .services(false)
        .await
        .store
        .query(
            &loadout::keys::managed_partition(&UserId::new(user.id.as_str())),
            "",
        )
        .await
        .expect("query");
    assert!(managed.is_empty(), "nothing stays recorded as managed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_delivery_answers_with_the_original_ids_and_changes_nothing() {
    let ex = Examples::load();
    let (stack, pipeline) = stack("dup").await;
    let user = ex.with_devices("Sales").remove(2);
    let body = hr_event("joiner", &user, &[]);
    let first = pipeline.post_hris(stack.whsec(), &body, "dup-1").await;
    assert_eq!(first.status, 202, "{:?}", first.body);
    assert!(pipeline.settle(SETTLE).await);
    assert_eq!(uem_apps(&stack, user.id.as_str()), ex.expected_apps(&user));
    let mutations = stack.sim.mutation_count();

    let second = pipeline.post_hris(stack.whsec(), &body, "dup-1").await;
    assert_eq!(second.status, 202);
    assert_eq!(
        second.body, first.body,
        "a duplicate answers with the original ids"
    );
    assert!(pipeline.settle(SETTLE).await);
    assert_eq!(
        stack.sim.mutation_count(),
        mutations,
        "no UEM change for a duplicate"
    );
    let trail = stack
        .services(false)
        .await
        .audit
        .query(&AuditQuery::user(&user.id))
        .await
        .expect("audit");
    let decisions = trail
        .iter()
        .filter(|r| r.kind == AuditKind::Decision)
        .count();
    assert_eq!(decisions, 1, "decided once");
    assert!(trail.iter().any(|r| r.kind == AuditKind::EventDuplicate));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_signature_gets_401_with_a_json_error_and_queues_nothing() {
    let ex = Examples::load();
    let (stack, pipeline) = stack("forged").await;
    let body = hr_event("joiner", &ex.org[0], &[]);
    let forged = Signed::with_key(
        b"not-the-real-key-at-all!",
        "forged-1",
        chrono::Utc::now().timestamp(),
        &body,
    );
    let answer = pipeline
        .invoke_intake(&lambda_events::hris_request(&body, &forged))
        .await;
    assert_eq!(answer.status, 401);
    assert!(answer.content_type.starts_with("application/json"));
    assert_eq!(answer.body["error"]["code"], "invalid_signature");
    assert!(answer.body["error"]["message"].is_string());
    assert!(
        pipeline.receive(names::ENRICH).await.is_empty(),
        "nothing reaches the enrich queue"
    );
    assert_eq!(stack.sim.mutation_count(), 0);
}
