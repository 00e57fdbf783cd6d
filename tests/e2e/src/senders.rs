//! Deliveries as each identity source sends them (Okta event hooks, Microsoft Graph change
//! notifications, BambooHR webhooks), signed with local mode's secrets, for the end-to-end tests.

use crate::Harness;
use hmac::{Hmac, KeyInit, Mac};
use loadout::ports::secrets::keys;
use serde_json::{Value, json};
use sha2::Sha256;

/// A secret local mode generated (or took from the environment).
pub async fn secret(h: &Harness, key: &str) -> String {
    h.local
        .services
        .secrets
        .get(key)
        .await
        .expect("secrets")
        .expect("configured")
        .expose()
        .to_owned()
}

async fn post(h: &Harness, route: &str, body: String, headers: &[(&str, String)]) -> u16 {
    let mut request = reqwest::Client::new()
        .post(format!("{}{route}", h.local.base_url))
        .header("content-type", "application/json")
        .body(body);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    request.send().await.expect("post").status().as_u16()
}

/// An Okta event hook delivery of one event about the user `okta_id` (login `email`), with
/// more targets (a group) when given.
pub fn okta_delivery(
    uuid: &str,
    event_type: &str,
    okta_id: &str,
    email: &str,
    more: &[Value],
) -> Value {
    let mut target =
        vec![json!({"id": okta_id, "type": "User", "alternateId": email, "displayName": "x"})];
    target.extend_from_slice(more);
    json!({
        "eventType": "com.okta.event_hook", "eventTypeVersion": "1.0",
        "cloudEventsVersion": "0.1", "contentType": "application/json",
        "eventId": format!("delivery-{uuid}"), "eventTime": chrono::Utc::now().to_rfc3339(),
        "data": {"events": [{
            "uuid": uuid,
            "published": chrono::Utc::now().to_rfc3339(),
            "eventType": event_type, "version": "0", "severity": "INFO",
            "displayMessage": event_type,
            "actor": {"id": "00uadmin", "type": "User", "alternateId": "it-admin@example.com", "displayName": "IT"},
            "outcome": {"result": "SUCCESS"},
            "target": target
        }]}
    })
}

pub async fn post_okta(h: &Harness, body: &Value) -> u16 {
    let authorization = secret(h, keys::OKTA_AUTHORIZATION).await;
    post(
        h,
        "/webhooks/okta",
        body.to_string(),
        &[("authorization", authorization)],
    )
    .await
}

/// A Graph change notification about `Users/{object_id}`, with local mode's clientState.
pub async fn graph_user_item(h: &Harness, change: &str, object_id: &str, n: u32) -> Value {
    json!({
        "id": format!("lsgTZMr9KwAAA{n}"),
        "subscriptionId": "7f105c7d-2dc5-4530-97cd-4e7ae6534c07",
        "subscriptionExpirationDateTime": (chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339(),
        "clientState": secret(h, keys::GRAPH_CLIENT_STATE).await,
        "changeType": change,
        "resource": format!("Users/{object_id}"),
        "tenantId": "84bd8158-6d4d-4958-8b9f-9d6445542f95",
        "resourceData": {
            "@odata.type": "#Microsoft.Graph.User",
            "@odata.id": format!("Users/{object_id}"),
            "id": object_id,
            "organizationId": "84bd8158-6d4d-4958-8b9f-9d6445542f95"
        }
    })
}

/// A Graph change notification about `Groups/{group_id}`, with `members@delta` when given.
pub async fn graph_group_item(h: &Harness, id: &str, group_id: &str, members: &[&str]) -> Value {
    let mut data = json!({
        "@odata.type": "#Microsoft.Graph.Group",
        "@odata.id": format!("Groups/{group_id}"),
        "id": group_id
    });
    if !members.is_empty() {
        data["members@delta"] = members.iter().map(|m| json!({"id": m})).collect();
    }
    json!({
        "id": id,
        "subscriptionId": "2b0bc1e5-3a7c-4ef4-9a3c-4e6a1c6b7d10",
        "clientState": secret(h, keys::GRAPH_CLIENT_STATE).await,
        "changeType": "updated",
        "resource": format!("Groups/{group_id}"),
        "tenantId": "84bd8158-6d4d-4958-8b9f-9d6445542f95",
        "resourceData": data
    })
}

pub async fn post_graph(h: &Harness, items: Vec<Value>) -> u16 {
    post(
        h,
        "/webhooks/graph",
        json!({ "value": items }).to_string(),
        &[],
    )
    .await
}

/// An event-based BambooHR webhook (`changedFields` only on updates).
pub fn bamboohr_event(kind: &str, employee_id: &str, changed: &[&str]) -> Value {
    let mut data = json!({"companyId": "12345", "employeeId": employee_id});
    if kind == "employee.updated" {
        data["changedFields"] = json!(changed);
    }
    json!({
        "type": kind,
        "timestamp": chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%z").to_string(),
        "data": data
    })
}

/// BambooHR's scheme: hex HMAC-SHA256 of the raw body followed by the timestamp header.
pub async fn post_bamboohr(h: &Harness, body: &Value) -> u16 {
    let raw = body.to_string();
    let timestamp = chrono::Utc::now().timestamp().to_string();
    let key = secret(h, keys::BAMBOOHR_HMAC_SECRET).await;
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("any key length");
    mac.update(raw.as_bytes());
    mac.update(timestamp.as_bytes());
    let signature: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    post(
        h,
        "/webhooks/hris",
        raw,
        &[
            ("x-bamboohr-timestamp", timestamp),
            ("x-bamboohr-signature", signature),
        ],
    )
    .await
}
