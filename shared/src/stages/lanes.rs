//! A batch split into lanes that run side by side. Within a lane, messages run in delivery order
//! and a FIFO group stops at its first failure ([`process_each`]); lanes do not wait for each
//! other. The executor's lane is an app: a joiner's eight apps are recorded together instead of
//! one after another (eight times the round trips before the first response), while each app
//! sees its changes in delivery order, so one user's changes to an app stay in order, and two
//! users' changes to the same app never race for that app's pending index within one batch
//! (lanes by user and app did, and ran out of compare-and-swap retries).

use super::Services;
use super::StageError;
use super::batch::{BatchReport, InboundMessage, process_each};
use std::future::Future;

/// Runs `process` on every message, the messages of each lane (named by `lane`) in order, the
/// lanes concurrently; reports which to retry, as [`process_each`] does.
pub async fn process_lanes<L, F, Fut>(
    services: &Services,
    queue: &str,
    messages: Vec<InboundMessage>,
    lane: L,
    process: F,
) -> BatchReport
where
    L: Fn(&InboundMessage) -> String,
    F: Fn(InboundMessage) -> Fut,
    Fut: Future<Output = Result<(), StageError>>,
{
    // Lanes in the order of their first message, each in delivery order.
    let mut lanes: Vec<(String, Vec<InboundMessage>)> = Vec::new();
    for message in messages {
        let name = lane(&message);
        match lanes.iter_mut().find(|(n, _)| *n == name) {
            Some((_, list)) => list.push(message),
            None => lanes.push((name, vec![message])),
        }
    }
    let process = &process;
    let reports = futures::future::join_all(
        lanes
            .into_iter()
            .map(|(_, list)| process_each(services, queue, list, process)),
    )
    .await;
    let mut report = BatchReport::default();
    for r in reports {
        report.failed.extend(r.failed);
        report.dead_lettered.extend(r.dead_lettered);
        report.succeeded += r.succeeded;
    }
    report
}

/// The executor's lane of a message: the app its payload names; a body without an app has a
/// lane of its own per FIFO group.
pub fn app_of(message: &InboundMessage) -> String {
    let group = message.group_id.as_deref().unwrap_or_default();
    let app = serde_json::from_str::<serde_json::Value>(&message.body)
        .ok()
        .and_then(|v| {
            let payload = v.get("payload")?;
            payload
                .get("app_id")
                .or_else(|| payload.get("action").and_then(|a| a.get("app_id")))
                .and_then(|a| a.as_str())
                .map(str::to_owned)
        });
    match app {
        Some(app) => format!("app\u{1f}{app}"),
        None => format!("group\u{1f}{group}"),
    }
}

#[cfg(all(test, feature = "local"))]
mod tests {
    use super::*;
    use crate::ports::queue::names;
    use crate::stages::batch::tests::local_services as services;
    use serde_json::json;
    use std::time::Duration;

    fn action(id: &str, user: &str, app: &str) -> InboundMessage {
        InboundMessage {
            message_id: id.into(),
            body: json!({"schema_version": 1, "correlation_id": format!("c-{id}"),
                "payload": {"app_id": app, "user_id": user}})
            .to_string(),
            receive_count: 1,
            group_id: Some(user.into()),
        }
    }

    #[test]
    fn the_lane_is_the_app_the_payload_names() {
        assert_eq!(
            app_of(&action("1", "ann", "slack")),
            app_of(&action("2", "bob", "slack")),
            "two users' changes to one app share its lane"
        );
        assert_ne!(
            app_of(&action("1", "ann", "slack")),
            app_of(&action("1", "ann", "zoom"))
        );
        let ask = InboundMessage {
            body: json!({"payload": {"action": {"app_id": "gong"}}}).to_string(),
            ..action("3", "ann", "x")
        };
        assert_eq!(app_of(&ask), app_of(&action("4", "bob", "gong")));
        let garbage = InboundMessage {
            body: "{{{".into(),
            ..action("5", "ann", "x")
        };
        assert_ne!(app_of(&garbage), app_of(&action("6", "ann", "x")));
        assert_eq!(
            app_of(&garbage),
            app_of(&InboundMessage {
                message_id: "7".into(),
                ..garbage.clone()
            })
        );
    }

    #[tokio::test]
    async fn a_users_apps_are_recorded_side_by_side() {
        let services = services();
        // Each message waits until both have started: run one after the other, they never would.
        let barrier = tokio::sync::Barrier::new(2);
        let report = tokio::time::timeout(
            Duration::from_secs(10),
            process_lanes(
                &services,
                names::EXECUTE,
                vec![action("a", "ann", "slack"), action("b", "ann", "zoom")],
                app_of,
                |_| async {
                    barrier.wait().await;
                    Ok(())
                },
            ),
        )
        .await
        .expect("the two apps' lanes ran concurrently");
        assert_eq!(report.succeeded, 2);
        assert!(report.failed.is_empty());
    }

    #[tokio::test]
    async fn a_failure_holds_back_only_the_rest_of_its_own_lane() {
        let services = services();
        let order = std::sync::Mutex::new(Vec::new());
        let report = process_lanes(
            &services,
            names::EXECUTE,
            vec![
                action("ann-slack-1", "ann", "slack"),
                action("ann-zoom-1", "ann", "zoom"),
                action("ann-slack-2", "ann", "slack"),
                action("bob-slack-1", "bob", "slack"),
                action("ann-zoom-2", "ann", "zoom"),
            ],
            app_of,
            |m| {
                order.lock().unwrap().push(m.message_id.clone());
                async move {
                    if m.message_id == "ann-slack-1" {
                        Err(StageError::Retryable("UEM refused for now".into()))
                    } else {
                        Ok(())
                    }
                }
            },
        )
        .await;
        assert_eq!(report.failed, ["ann-slack-1", "ann-slack-2"]);
        assert_eq!(report.succeeded, 3, "ann's zoom and bob went on");
        let order = order.lock().unwrap().clone();
        let at = |id: &str| order.iter().position(|m| m == id);
        assert!(
            at("ann-zoom-1") < at("ann-zoom-2"),
            "in order within a lane"
        );
        assert_eq!(
            at("ann-slack-2"),
            None,
            "held back behind its lane's failure"
        );
    }
}
