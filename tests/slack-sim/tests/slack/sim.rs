//! The simulator driven with plain HTTP.

use serde_json::json;
use slack_sim::{SlackFault, SlackSim};

async fn post(url: &str, body: &str) -> (u16, String, String) {
    let r = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .expect("answer");
    let status = r.status().as_u16();
    let content_type = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, content_type, r.text().await.expect("text"))
}

#[tokio::test]
async fn a_message_with_blocks_is_answered_ok_in_plain_text_and_recorded() {
    let slack = SlackSim::start().await.expect("start");
    let message = json!({"text": "hello", "blocks": [
        {"type": "header", "text": {"type": "plain_text", "text": "Hi"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "*bold*"}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "ctx"}]}
    ]});
    let (status, content_type, body) = post(&slack.webhook_url, &message.to_string()).await;
    assert_eq!((status, body.as_str()), (200, "ok"));
    assert!(content_type.starts_with("text/plain"));
    let delivered = slack.delivered();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].payload, message);
    slack.shutdown().await;
}

#[tokio::test]
async fn bad_messages_get_slacks_error_codes() {
    let slack = SlackSim::start().await.expect("start");
    let too_many: Vec<_> = (0..51).map(|_| json!({"type": "divider"})).collect();
    let cases = [
        ("not json".to_owned(), 400, "invalid_payload"),
        (json!({"username": "x"}).to_string(), 400, "no_text"),
        (json!({"text": "t", "blocks": too_many}).to_string(), 400, "invalid_blocks"),
        (
            json!({"text": "t", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x".repeat(3001)}}]})
                .to_string(),
            400,
            "invalid_blocks",
        ),
        (json!({"text": "t", "blocks": [{"type": "sparkles"}]}).to_string(), 400, "invalid_blocks"),
    ];
    for (body, status, code) in cases {
        let (s, _, text) = post(&slack.webhook_url, &body).await;
        assert_eq!((s, text.as_str()), (status, code), "{body}");
    }
    let (s, _, text) = post(
        &format!("{}/services/T1/B1/wrong", slack.base_url),
        "{\"text\":\"x\"}",
    )
    .await;
    assert_eq!((s, text.as_str()), (404, "no_service"));
    assert!(slack.delivered().is_empty());
    slack.shutdown().await;
}

#[tokio::test]
async fn scripted_answers_come_in_order_then_ok() {
    let slack = SlackSim::start().await.expect("start");
    slack.fail_next(
        1,
        SlackFault::RateLimited {
            retry_after_secs: 7,
        },
    );
    slack.fail_next(1, SlackFault::ChannelIsArchived);
    slack.fail_next(1, SlackFault::ServerError);
    let r = reqwest::Client::new()
        .post(&slack.webhook_url)
        .json(&json!({"text": "x"}))
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), 429);
    assert_eq!(
        r.headers().get("retry-after").and_then(|v| v.to_str().ok()),
        Some("7")
    );
    let body = json!({"text": "x"}).to_string();
    assert_eq!(
        post(&slack.webhook_url, &body).await.2,
        "channel_is_archived"
    );
    assert_eq!(post(&slack.webhook_url, &body).await.2, "rollup_error");
    assert_eq!(post(&slack.webhook_url, &body).await.2, "ok");
    slack.revoke();
    assert_eq!(post(&slack.webhook_url, &body).await.0, 404);
    slack.shutdown().await;
}
