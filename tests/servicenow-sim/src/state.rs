//! What the instance holds: the `sc_request` records, issued tokens, the fault script, the call
//! log and the callbacks sent.

use crate::config::SimConfig;
use crate::faults::FaultScript;
use crate::payload::ApprovalFields;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::watch;

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// ServiceNow's date-time format (`sys_created_on` and friends), in UTC.
pub fn glide_time(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// One `sc_request` record created by the App Approvals resource.
#[derive(Debug, Clone, PartialEq)]
pub struct Ticket {
    pub sys_id: String,
    /// `REQ0010001`, ...
    pub number: String,
    /// `requested`, then `approved` or `rejected`.
    pub approval: String,
    pub fields: ApprovalFields,
    pub sys_created_on: String,
    pub sys_updated_on: String,
    pub sys_updated_by: String,
    /// The request body as received.
    pub body: Value,
}

impl Ticket {
    /// The record as the Table API returns it: every value a string.
    pub fn table_row(&self) -> Value {
        let f = &self.fields;
        let due = chrono::DateTime::from_timestamp_millis(f.due_millis)
            .map(glide_time)
            .unwrap_or_default();
        json!({
            "sys_id": self.sys_id,
            "number": self.number,
            "approval": self.approval,
            "request_state": if self.approval == "requested" { "requested" } else { "in_process" },
            "short_description": format!("Install {}", f.app_name),
            "description": format!(
                "{} (UEM app {}{}{}) for {}",
                f.app_name,
                f.app_id,
                f.version.as_deref().map(|v| format!(", version {v}")).unwrap_or_default(),
                f.platform.as_deref().map(|p| format!(", {p}")).unwrap_or_default(),
                f.user_name
            ),
            "due_date": due,
            "u_uem_request_id": f.request_id,
            "u_uem_callback_url": f.callback_url,
            "u_uem_device_id": f.device_id.to_string(),
            "u_uem_user_id": f.user_id,
            "u_requesting_user": f.user_name,
            "u_uem_notes": f.notes,
            "sys_created_on": self.sys_created_on,
            "sys_updated_on": self.sys_updated_on,
            "sys_updated_by": self.sys_updated_by,
        })
    }
}

/// One request the instance received (token requests included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedCall {
    pub method: String,
    pub path: String,
    pub status: u16,
}

/// One callback the Flow Designer action sent, and what came back.
#[derive(Debug, Clone, PartialEq)]
pub struct CallbackDelivery {
    pub request_id: String,
    pub url: String,
    pub body: Value,
    /// `None` when no answer came (refused connection, timeout).
    pub status: Option<u16>,
    pub response: String,
    pub error: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct IssuedToken {
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

pub(crate) struct Shared {
    pub config: SimConfig,
    pub tickets: Mutex<Vec<Ticket>>,
    pub next_number: Mutex<u64>,
    pub tokens: Mutex<HashMap<String, IssuedToken>>,
    pub faults: Mutex<FaultScript>,
    pub calls: Mutex<Vec<ReceivedCall>>,
    pub callbacks: Mutex<Vec<CallbackDelivery>>,
    /// Callbacks decided while held (the order they were decided in).
    pub held: Mutex<Vec<(String, Value)>>,
    pub holding: Mutex<bool>,
    pub callback_delay: Mutex<Duration>,
    pub http: reqwest::Client,
    /// Bumped whenever the instance goes down or stops; ends hung requests.
    pub stops: watch::Sender<u64>,
}

impl Shared {
    pub fn record(&self, call: ReceivedCall) {
        lock(&self.calls).push(call);
    }

    pub fn insert(&self, fields: ApprovalFields, body: Value) -> Ticket {
        let number = {
            let mut next = lock(&self.next_number);
            let n = *next;
            *next += 1;
            n
        };
        let now = glide_time(chrono::Utc::now());
        let ticket = Ticket {
            sys_id: uuid::Uuid::new_v4().simple().to_string(),
            number: format!("REQ{number:07}"),
            approval: "requested".to_owned(),
            fields,
            sys_created_on: now.clone(),
            sys_updated_on: now,
            sys_updated_by: self.config.credentials.username.clone(),
            body,
        };
        lock(&self.tickets).push(ticket.clone());
        ticket
    }

    /// Waits until the instance goes down or stops (or ten minutes): a request that is never
    /// answered.
    pub async fn hang(&self) {
        let mut stops = self.stops.subscribe();
        let _ = tokio::time::timeout(Duration::from_secs(600), stops.changed()).await;
    }
}
