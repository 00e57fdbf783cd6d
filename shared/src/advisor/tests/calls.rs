//! The call itself: shape, privacy, retries, time budget, cost.

use super::*;
use bedrock_sim::Reply;

/// serde_json compares 0 and 0.0 as different numbers; the wire may spell either.
fn numbers_as_f64(value: &Value) -> Value {
    match value {
        Value::Number(n) => json!(n.as_f64()),
        Value::Array(items) => Value::Array(items.iter().map(numbers_as_f64).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), numbers_as_f64(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[tokio::test]
async fn a_valid_reply_becomes_recommendations_with_a_record() {
    let sim = BedrockSim::start().await.expect("sim");
    let adviser = adviser_with(&settings(&sim));
    sim.push(Reply::tool_use(good_input()));

    let advice = adviser.advise(&request()).await.expect("advice");

    let apps: Vec<&str> = advice
        .recommendations
        .iter()
        .map(|r| r.app_id.as_str())
        .collect();
    assert_eq!(apps, ["salesloft", "gong"]);
    assert_eq!(advice.recommendations[0].confidence, Some(0.9));
    assert_eq!(advice.recommendations[1].confidence, None);
    assert!(
        advice.recommendations[0]
            .reason
            .starts_with("Used by 14 of 17")
    );
    let record = advice.record.expect("a record of the call");
    assert_eq!(record.adviser, "bedrock");
    assert_eq!(record.model_id, DEFAULT_MODEL_ID);
    assert_eq!(record.prompt_version, PROMPT_VERSION);
    assert_eq!(record.attempts, 1);
    assert_eq!(record.request_sha256.len(), 64);
    assert_eq!(record.response_sha256.as_deref().map(str::len), Some(64));
    let calls = sim.requests();
    assert_eq!(calls.len(), 1);
    assert!(calls[0].signed, "the SDK signs with SigV4");
    assert_eq!(calls[0].model_id, DEFAULT_MODEL_ID);
    assert_eq!(calls[0].content_type, "application/json");
    sim.shutdown().await;
}

#[tokio::test]
async fn the_request_is_the_documented_converse_shape_and_the_record_hashes_it() {
    let sim = BedrockSim::start().await.expect("sim");
    let adviser = adviser_with(&settings(&sim));
    sim.push(Reply::tool_use(json!({"recommendations": []})));
    let request = request();

    let advice = adviser.advise(&request).await.expect("advice");
    assert!(advice.recommendations.is_empty());

    let preview = adviser.preview(&request).expect("something to send");
    let sent = &sim.requests()[0].json;
    assert_eq!(numbers_as_f64(sent), numbers_as_f64(&preview.wire_json()));
    assert_eq!(
        advice.record.map(|r| r.request_sha256),
        Some(preview.sha256())
    );
    assert_eq!(
        sent["toolConfig"]["toolChoice"],
        json!({"tool": {"name": TOOL_NAME}})
    );
    let schema = &sent["toolConfig"]["tools"][0]["toolSpec"]["inputSchema"]["json"];
    let items = &schema["properties"]["recommendations"];
    assert_eq!(items["maxItems"], 5);
    let offered: Vec<&str> = items["items"]["properties"]["app_id"]["enum"]
        .as_array()
        .expect("enum")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    // Neither what the person has (slack, zoom), nor will get (salesforce), nor may not have.
    assert_eq!(
        offered,
        [
            "1password",
            "canva",
            "docusign",
            "gong",
            "hubspot",
            "miro",
            "notion",
            "salesloft"
        ]
    );
    assert_eq!(
        items["items"]["properties"]["reason"]["maxLength"],
        REASON_MAX_CHARS
    );
    assert_eq!(sent["messages"][0]["role"], "user");
    assert_eq!(sent["inferenceConfig"]["maxTokens"], 512);
    sim.shutdown().await;
}

#[tokio::test]
async fn no_personal_data_and_no_forbidden_app_is_sent() {
    let sim = BedrockSim::start().await.expect("sim");
    let adviser = adviser_with(&settings(&sim));
    sim.push(Reply::tool_use(good_input()));
    adviser.advise(&request()).await.expect("advice");

    let body = sim.requests()[0].body.to_lowercase();
    for personal in PERSONAL {
        assert!(
            !body.contains(&personal.to_lowercase()),
            "{personal} was sent"
        );
    }
    assert!(!body.contains("tableau"), "a forbidden app was shown");
    // What is sent instead: the cohort, the pseudonym and the peer counts.
    let key = Pseudonymizer::new(b"per-deployment-test-key").expect("key");
    let pseudonym = key.pseudonym(&UserId::new("u-4821"));
    for expected in [
        "account executive",
        "austin",
        "amer",
        "full-time",
        "macos",
        "ios",
        pseudonym.as_str(),
        "department, title and location",
        "salesloft",
    ] {
        assert!(body.contains(expected), "{expected} is missing");
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn throttling_is_retried_within_the_budget() {
    let sim = BedrockSim::start().await.expect("sim");
    let adviser = adviser_with(&settings(&sim));
    sim.push(Reply::throttled());
    sim.push(Reply::throttled());
    sim.push(Reply::tool_use(good_input()));

    let advice = adviser
        .advise(&request())
        .await
        .expect("advice after retries");

    assert_eq!(advice.recommendations.len(), 2);
    assert_eq!(advice.record.map(|r| r.attempts), Some(3));
    assert_eq!(sim.requests().len(), 3);
    sim.shutdown().await;
}

#[tokio::test]
async fn throttling_on_every_attempt_gives_up() {
    let sim = BedrockSim::start().await.expect("sim");
    let mut s = settings(&sim);
    s.max_attempts = 2;
    let adviser = adviser_with(&s);
    for _ in 0..3 {
        sim.push(Reply::throttled());
    }

    let err = adviser.advise(&request()).await.expect_err("throttled");

    assert!(
        matches!(err, AdviserError::Throttled { attempts: 2, .. }),
        "{err:?}"
    );
    assert_eq!(err.audit_code(), "throttled");
    assert_eq!(err.record().map(|r| r.response_sha256.clone()), Some(None));
    assert_eq!(sim.requests().len(), 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_slow_model_times_out_with_an_error_the_caller_can_ignore() {
    let sim = BedrockSim::start().await.expect("sim");
    let mut s = settings(&sim);
    s.timeout = Duration::from_millis(300);
    let adviser = adviser_with(&s);
    sim.push(Reply::delayed(
        Duration::from_secs(30),
        Reply::tool_use(good_input()),
    ));

    let started = std::time::Instant::now();
    let err = adviser.advise(&request()).await.expect_err("timeout");

    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(
        matches!(err, AdviserError::Timeout { attempts: 1, .. }),
        "{err:?}"
    );
    assert_eq!(err.audit_code(), "timeout");
    let record = err.record().expect("the request was sent");
    assert!(record.response_sha256.is_none() && record.cost_usd.is_none());
    sim.shutdown().await;
}

#[tokio::test]
async fn the_invocation_deadline_shortens_the_budget() {
    let sim = BedrockSim::start().await.expect("sim");
    let adviser = adviser_with(&settings(&sim)); // 5 s on its own
    sim.push(Reply::delayed(
        Duration::from_secs(30),
        Reply::tool_use(good_input()),
    ));
    let deadline = chrono::Utc::now()
        + chrono::Duration::from_std(crate::deadline::SAFETY_MARGIN + Duration::from_millis(400))
            .expect("duration");

    let started = std::time::Instant::now();
    let err = crate::deadline::within(deadline, adviser.advise(&request()))
        .await
        .expect_err("timeout");

    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    match err {
        AdviserError::Timeout { budget, .. } => assert!(budget <= Duration::from_millis(400)),
        other => panic!("{other:?}"),
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn nothing_is_sent_when_the_invocation_has_no_time_left() {
    let sim = BedrockSim::start().await.expect("sim");
    let adviser = adviser_with(&settings(&sim));
    sim.push(Reply::tool_use(good_input()));

    let err = crate::deadline::within(chrono::Utc::now(), adviser.advise(&request()))
        .await
        .expect_err("no time");

    assert!(
        matches!(err, AdviserError::Timeout { attempts: 0, .. }),
        "{err:?}"
    );
    assert!(sim.requests().is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn the_cost_comes_from_the_reported_usage_and_the_prices() {
    let sim = BedrockSim::start().await.expect("sim");
    let adviser = adviser_with(&settings(&sim));
    sim.push_with_usage(Reply::tool_use(good_input()), 2_000, 500);

    let record = adviser
        .advise(&request())
        .await
        .expect("advice")
        .record
        .expect("record");

    assert_eq!(
        record.usage,
        Some(TokenUsage {
            input_tokens: 2_000,
            output_tokens: 500,
            total_tokens: 2_500
        })
    );
    let cost = record.cost_usd.expect("priced");
    assert!((cost - (2.0 * 0.003 + 0.5 * 0.015)).abs() < 1e-9, "{cost}");

    // Without prices the tokens are still recorded, the cost is not invented.
    let mut unpriced = settings(&sim);
    unpriced.prices = None;
    sim.push_with_usage(Reply::tool_use(good_input()), 100, 10);
    let record = adviser_with(&unpriced)
        .advise(&request())
        .await
        .expect("advice")
        .record
        .expect("record");
    assert_eq!(record.cost_usd, None);
    assert_eq!(record.usage.map(|u| u.total_tokens), Some(110));
    sim.shutdown().await;
}

#[tokio::test]
async fn a_refusal_is_a_service_error_and_not_retried() {
    let sim = BedrockSim::start().await.expect("sim");
    let adviser = adviser_with(&settings(&sim));
    sim.push(Reply::access_denied());
    sim.push(Reply::tool_use(good_input()));

    let err = adviser.advise(&request()).await.expect_err("denied");

    match &err {
        AdviserError::Service { code, .. } => assert_eq!(code, "AccessDeniedException"),
        other => panic!("{other:?}"),
    }
    assert_eq!(err.audit_code(), "service_error");
    assert_eq!(sim.requests().len(), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn an_unknown_model_is_a_validation_error() {
    let sim = BedrockSim::start().await.expect("sim");
    let mut s = settings(&sim);
    s.model_id = Some("no.such-model-v1:0".into());
    let adviser = adviser_with(&s);

    let err = adviser.advise(&request()).await.expect_err("invalid model");

    match &err {
        AdviserError::Service { code, .. } => assert_eq!(code, "ValidationException"),
        other => panic!("{other:?}"),
    }
    assert_eq!(sim.requests()[0].model_id, "no.such-model-v1:0");
    sim.shutdown().await;
}

#[tokio::test]
async fn nothing_is_sent_when_nothing_is_left_to_offer() {
    let sim = BedrockSim::start().await.expect("sim");
    let adviser = adviser_with(&settings(&sim));
    let catalog = Catalog::from_yaml(CATALOG).expect("catalog");
    let everything: Vec<AppId> = catalog.apps().map(|a| a.id.clone()).collect();
    let request = AdviceRequest::new(&employee(), &devices(), &catalog).with_current(everything);

    let advice = adviser.advise(&request).await.expect("advice");

    assert_eq!(advice, Advice::none());
    assert!(sim.requests().is_empty());
    assert!(
        (NoAdviser.advise(&request).await.expect("no-op"))
            .record
            .is_none()
    );
    sim.shutdown().await;
}
