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
    let services = stack.services(false).await;
    let observed =
        loadout::stages::observed::observe(services.store.as_ref(), &UserId::new(user.id.as_str()))
            .await
            .expect("observed");
    assert!(
        observed.known().is_some_and(|h| h.apps.is_empty()),
        "Loadout knows the leaver holds nothing in its groups: {observed:?}"
    );
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

/// ServiceNow's decision through the approval-callback Lambda handler on the AWS adapters: the
/// request is opened (in the ServiceNow simulator) with its record in DynamoDB, the approval
/// arrives as API Gateway hands it over, the stored action goes through the FIFO execute queue to
/// the executor, and the app appears in UEM. A repeat changes nothing; a forged one is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_through_the_callback_lambda_reaches_uem() {
    use loadout::adapters::aws::AwsSettings;
    use loadout::adapters::aws::provision::write_secret;
    use loadout::domain::{Action, ActionKind, AppId, CorrelationId, PushMode};
    use loadout::ports::secrets::keys;
    use loadout::servicenow::{ServiceNowClient, ServiceNowConfig};
    use loadout::stages::approval_callback::ApprovalCallback;
    use loadout::stages::approve::{
        AppPackage, ApprovalSubject, Approvals, Requester, TargetDevice,
    };
    use servicenow_sim::{CallbackAuth, ServiceNowSim, SimConfig};
    use std::sync::Arc;

    const TOKEN: &str = "snow-callback-token-on-aws";
    let stack = AwsStack::start("approval", Mode::Recommend).await;
    let pipeline = Pipeline::new(&stack).await;
    let snow = ServiceNowSim::start(SimConfig::new(CallbackAuth::Bearer(TOKEN.into())))
        .await
        .expect("ServiceNow simulator");
    let mut secret = stack.secret.clone();
    secret.insert(keys::SERVICENOW_CALLBACK_TOKEN.into(), TOKEN.into());
    secret.insert(
        keys::SERVICENOW_USERNAME.into(),
        snow.credentials.username.clone(),
    );
    secret.insert(
        keys::SERVICENOW_PASSWORD.into(),
        snow.credentials.password.clone(),
    );
    let admin = stack.moto.context(AwsSettings::default()).await;
    write_secret(
        &admin.secretsmanager,
        &stack.provisioned.secret_arn,
        &secret,
    )
    .await
    .expect("secret");

    // The executor's side: open the request (one Windows device of mwilliams).
    let ex = Examples::load();
    let app = ex
        .catalog
        .get(&AppId::from("adobe-creative-cloud"))
        .expect("catalog")
        .clone();
    let device = ex
        .devices
        .iter()
        .find(|d| d.user_id.as_str() == "mwilliams" && app.platforms.contains(&d.platform))
        .expect("a Windows device");
    let correlation = CorrelationId::from("aws-approval-1");
    let (user, app_id) = (UserId::from("mwilliams"), app.id.clone());
    let uem_id = stack
        .sim
        .with_state(|s| s.resolve_user("mwilliams").map(|u| u.id))
        .expect("mwilliams is in UEM");
    let action = Action {
        action_id: Action::derive_id(&correlation, &user, &app_id, ActionKind::Assign),
        correlation_id: correlation,
        user_id: user.clone(),
        app_id: app_id.clone(),
        kind: ActionKind::Assign,
        push_mode: PushMode::Auto,
        reasons: vec![],
        policy_version: "examples".into(),
        sequence: 1,
        uem_user: Some(loadout::domain::UemTarget {
            id: uem_id,
            username: "mwilliams".into(),
        }),
    };
    let opener = stack.services(true).await;
    let config = ServiceNowConfig::new(
        &snow.base_url,
        &snow.namespace,
        "https://k7x2mq4v9d.execute-api.eu-west-1.amazonaws.com",
    )
    .expect("config");
    let callback_url = config.callback_url.clone();
    let client = ServiceNowClient::new(config, opener.secrets.clone(), opener.clock.clone())
        .expect("client");
    let approvals = Approvals::new(opener).with_servicenow(Arc::new(client), callback_url);
    let opened = approvals
        .open(&ApprovalSubject {
            action: action.clone(),
            app: app.clone(),
            package: AppPackage::default(),
            requester: Requester {
                uem_user_id: uem_id.to_string(),
                user_name: "mwilliams".into(),
                first_name: String::new(),
                last_name: String::new(),
                email: String::new(),
            },
            devices: vec![TargetDevice::from(device)],
        })
        .await
        .expect("opened");
    let request_id = opened[0].request_id.clone();
    assert_eq!(snow.ticket_count(&request_id), 1);

    // approval-callback, as API Gateway invokes it.
    let callback = ApprovalCallback::new(stack.services(true).await);
    let body = serde_json::json!({"request_id": request_id, "device_id": device.device_id,
        "approval_status": "APPROVED", "updated_by": "it.approver",
        "updated_at": "2026-12-01 10:00:00"})
    .to_string();
    let invoke = |authorization: String| {
        let body = body.clone();
        let callback = &callback;
        async move {
            let json = lambda_events::servicenow_callback_request(body.as_bytes(), &authorization);
            let request = lambda_http::request::from_str(&json).expect("payload 2.0");
            let response = loadout::lambda::handlers::approval_callback(callback, request).await;
            let status = response.status().as_u16();
            let answer: serde_json::Value =
                serde_json::from_slice(response.body().as_ref()).expect("JSON");
            (status, answer)
        }
    };
    let (forged, _) = invoke("Bearer not-it".into()).await;
    assert_eq!(forged, 401);
    let (status, answer) = invoke(format!("Bearer {TOKEN}")).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["state"], "install_command_dispatched");

    let queued = pipeline.receive(names::EXECUTE).await;
    assert_eq!(queued.len(), 1);
    let attributes = queued[0].attributes().expect("system attributes");
    use aws_sdk_sqs::types::MessageSystemAttributeName as A;
    assert_eq!(
        attributes.get(&A::MessageGroupId).map(String::as_str),
        Some("mwilliams")
    );
    assert_eq!(
        attributes.get(&A::MessageDeduplicationId).cloned(),
        Some(format!("{}:approved", action.action_id))
    );
    // Back to the queue (as a failed delivery would), for the executor.
    let mut all_failed = aws_lambda_events::event::sqs::SqsBatchResponse::default();
    for m in &queued {
        let mut f = aws_lambda_events::event::sqs::BatchItemFailure::default();
        f.item_identifier = m.message_id().unwrap_or_default().to_owned();
        all_failed.batch_item_failures.push(f);
    }
    pipeline
        .acknowledge(names::EXECUTE, &queued, &all_failed)
        .await;
    assert!(pipeline.settle(SETTLE).await);
    assert!(
        stack
            .sim
            .effective_apps("mwilliams")
            .contains_key(&app.uem_app_id),
        "the approved app is assigned in UEM"
    );

    let (again, answer) = invoke(format!("Bearer {TOKEN}")).await;
    assert_eq!(
        (again, answer["changed"].clone()),
        (200, serde_json::json!(false))
    );
    assert_eq!(
        pipeline.deliver_once(names::EXECUTE).await,
        0,
        "nothing queued again"
    );
    snow.shutdown().await;
}

/// The sweep as deployed: the sweeper function's handler on DynamoDB and SQS (moto), invoked by
/// a scheduled event, repairs a member removed by hand and a deleted assignment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduled_sweep_repairs_drift_made_by_hand() {
    let ex = Examples::load();
    let (stack, pipeline) = stack("sweep").await;
    let sales = ex.with_devices("Sales");
    for (i, e) in sales.iter().take(2).enumerate() {
        let sent = pipeline
            .post_hris(
                stack.whsec(),
                &hr_event("joiner", e, &[]),
                &format!("sweep-{i}"),
            )
            .await;
        assert_eq!(sent.status, 202, "{:?}", sent.body);
    }
    assert!(pipeline.settle(SETTLE).await);
    let first = &sales[0];
    assert_eq!(uem_apps(&stack, first.id.as_str()), ex.expected_apps(first));
    // The first sweep reads Loadout's groups as they are: nothing to repair.
    let report = pipeline.sweep().await;
    assert_eq!(
        report["drift"].as_array().map(Vec::len),
        Some(0),
        "{report}"
    );

    let slack = stack.sim.group_id("loadout:slack").expect("slack group");
    stack
        .sim
        .remove_group_member(slack, first.id.as_str())
        .expect("removed by hand");
    let zoom_app = ex
        .catalog
        .get(&loadout::domain::AppId::from("zoom"))
        .expect("zoom")
        .uem_app_id
        .parse::<i64>()
        .expect("numeric");
    let zoom = stack.sim.group_id("loadout:zoom").expect("zoom group");
    stack
        .sim
        .delete_assignment(zoom_app, zoom)
        .expect("assignment deleted by hand");
    assert_ne!(uem_apps(&stack, first.id.as_str()), ex.expected_apps(first));

    let report = pipeline.sweep().await;
    let kinds: Vec<&str> = report["drift"]
        .as_array()
        .expect("drift")
        .iter()
        .filter_map(|d| d["kind"].as_str())
        .collect();
    assert!(kinds.contains(&"member_removed"), "{report}");
    assert!(kinds.contains(&"assignment_changed"), "{report}");
    assert!(pipeline.settle(SETTLE).await);
    for e in sales.iter().take(2) {
        assert_eq!(
            uem_apps(&stack, e.id.as_str()),
            ex.expected_apps(e),
            "{}",
            e.id
        );
    }
}
