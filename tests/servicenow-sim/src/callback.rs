//! The Flow Designer action that tells the requester about a decision: a REST step that POSTs
//! `{"request_id", "device_id", "approval_status", "updated_by", "notes", "updated_at"}` to the
//! record's `u_uem_callback_url`, with the status upper-case and the date in ServiceNow's
//! `YYYY-MM-DD HH:MM:SS` (UTC) format, authenticated as the REST message is configured.

use crate::config::CallbackAuth;
use crate::state::{CallbackDelivery, Shared, glide_time, lock};
use base64::Engine;
use serde_json::{Value, json};

/// The decision an approver made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Approved,
    Rejected,
}

impl Decision {
    pub fn approval(self) -> &'static str {
        match self {
            Decision::Approved => "approved",
            Decision::Rejected => "rejected",
        }
    }

    /// What the action sends: upper case.
    pub fn status(self) -> &'static str {
        match self {
            Decision::Approved => "APPROVED",
            Decision::Rejected => "REJECTED",
        }
    }
}

/// The callback body for a record, as the action builds it from the record's columns.
pub fn body(row: &Value, decision: Decision, approver: &str, notes: &str) -> Value {
    let column = |name: &str| row.get(name).and_then(Value::as_str).unwrap_or_default();
    json!({
        "request_id": column("u_uem_request_id"),
        "device_id": column("u_uem_device_id"),
        "approval_status": decision.status(),
        "updated_by": approver,
        "notes": notes,
        "updated_at": glide_time(chrono::Utc::now()),
    })
}

/// Sends one callback and records it with its answer.
pub async fn deliver(sim: &Shared, request_id: &str, url: &str, body: Value) -> CallbackDelivery {
    let mut request = sim
        .http
        .post(url)
        .timeout(sim.config.callback_timeout)
        .header("content-type", "application/json")
        .header("accept", "application/json")
        .body(body.to_string());
    request = match &sim.config.callback_auth {
        CallbackAuth::Bearer(token) => request.header("authorization", format!("Bearer {token}")),
        CallbackAuth::Basic { user, password } => request.header(
            "authorization",
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
            ),
        ),
        CallbackAuth::None => request,
    };
    let delivery = match request.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            let text = response.text().await.unwrap_or_default();
            CallbackDelivery {
                request_id: request_id.to_owned(),
                url: url.to_owned(),
                body,
                status: Some(status),
                response: text,
                error: None,
            }
        }
        Err(e) => CallbackDelivery {
            request_id: request_id.to_owned(),
            url: url.to_owned(),
            body,
            status: None,
            response: String::new(),
            error: Some(e.without_url().to_string()),
        },
    };
    lock(&sim.callbacks).push(delivery.clone());
    delivery
}
