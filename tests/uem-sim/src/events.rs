//! UEM event notifications (console "Event Notifications"; payloads as Zentral's receiver and
//! published samples show them): once a target is configured (URL and the HTTP
//! Basic credentials UEM sends), enrollment, unenrollment and compliance changes are POSTed as a
//! flat PascalCase JSON object, one at a time and in order; "Test Connection" is a GET. Every
//! attempt's outcome is recorded. Retries are undocumented: the simulator tries three times on a
//! transport error or a 5xx, one and two seconds apart by default (chosen).

use crate::tenant::{SimDevice, SimUser};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, mpsc, watch};

/// Where UEM sends notifications, as configured in the console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventTarget {
    pub url: String,
    pub username: String,
    pub password: String,
    /// The wait before the second attempt; it doubles before the third.
    pub retry_wait: Duration,
}

impl EventTarget {
    pub fn new(url: &str, username: &str, password: &str) -> Self {
        Self {
            url: url.to_owned(),
            username: username.to_owned(),
            password: password.to_owned(),
            retry_wait: Duration::from_secs(1),
        }
    }

    pub fn retry_wait(mut self, wait: Duration) -> Self {
        self.retry_wait = wait;
        self
    }
}

/// The events the simulator raises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// EventId 148, "MDM Enrollment Complete" (confirmed by payload samples).
    Enrolled,
    /// EventId 39, "Break MDM Confirmed" (confirmed by payload samples).
    Unenrolled,
    /// "Compliance Status Changed" (label confirmed; the number 179 is the simulator's).
    ComplianceChanged,
}

impl EventKind {
    pub fn event_id(self) -> i64 {
        match self {
            EventKind::Enrolled => 148,
            EventKind::Unenrolled => 39,
            EventKind::ComplianceChanged => 179,
        }
    }

    pub fn event_type(self) -> &'static str {
        match self {
            EventKind::Enrolled => "MDM Enrollment Complete",
            EventKind::Unenrolled => "Break MDM Confirmed",
            EventKind::ComplianceChanged => "Compliance Status Changed",
        }
    }
}

/// One notification as UEM would send it.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub kind: EventKind,
    pub device_id: i64,
    /// The JSON body.
    pub body: Value,
}

impl Notification {
    pub(crate) fn new(
        kind: EventKind,
        device: &SimDevice,
        user: Option<&SimUser>,
        og_name: &str,
        at: DateTime<Utc>,
    ) -> Self {
        // Current payloads carry ISO-8601 with seven fractional digits and no zone (Zentral
        // truncates to 26 characters to parse them).
        let time = format!(
            "{}{:07}",
            at.naive_utc().format("%Y-%m-%dT%H:%M:%S."),
            at.timestamp_subsec_nanos() / 100
        );
        let body = json!({
            "EventId": kind.event_id(),
            "EventType": kind.event_type(),
            "DeviceId": device.id,
            "DeviceFriendlyName": device.friendly_name(),
            "EnrollmentEmailAddress": user.map(|u| u.email.clone()).unwrap_or_default(),
            "EnrollmentUserName": device.username,
            "EventTime": time,
            "EnrollmentStatus": device.enrollment_status.as_str(),
            "CompromisedStatus": "NotCompromised",
            "CompromisedTimeStamp": time,
            "ComplianceStatus": if device.compliant { "Compliant" } else { "NonCompliant" },
            "PhoneNumber": "",
            "Udid": device.udid,
            "SerialNumber": device.serial_number,
            "MACAddress": format!("{:012X}", device.id),
            "Platform": device.platform,
            "OrganizationGroupName": og_name,
        });
        Self {
            kind,
            device_id: device.id,
            body,
        }
    }
}

/// The outcome of one notification (or of a connection test).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventDelivery {
    /// `None` for "Test Connection".
    pub event_id: Option<i64>,
    pub device_id: Option<i64>,
    pub method: String,
    pub url: String,
    /// The receiver's last answer; `None` when it could not be reached.
    pub status: Option<u16>,
    pub attempts: u32,
    pub error: Option<String>,
}

impl EventDelivery {
    pub fn delivered(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

const ATTEMPTS: u32 = 3;

/// Sends notifications one at a time, in the order they were raised.
#[derive(Debug)]
pub(crate) struct EventSender {
    queue: mpsc::UnboundedSender<Notification>,
    pub target: Arc<Mutex<Option<EventTarget>>>,
    pub raised: Arc<Mutex<Vec<Notification>>>,
    pub deliveries: Arc<Mutex<Vec<EventDelivery>>>,
    pending: Arc<(Mutex<usize>, Notify)>,
    http: reqwest::Client,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl EventSender {
    /// Starts the sending task; it ends at shutdown.
    pub fn start(target: Option<EventTarget>, shutdown: watch::Receiver<bool>) -> Self {
        let (queue, mut rx) = mpsc::unbounded_channel::<Notification>();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        let sender = Self {
            queue,
            target: Arc::new(Mutex::new(target)),
            raised: Arc::new(Mutex::new(Vec::new())),
            deliveries: Arc::new(Mutex::new(Vec::new())),
            pending: Arc::new((Mutex::new(0), Notify::new())),
            http: http.clone(),
        };
        let (target, deliveries, pending) = (
            sender.target.clone(),
            sender.deliveries.clone(),
            sender.pending.clone(),
        );
        let mut stop = shutdown;
        tokio::spawn(async move {
            loop {
                let next = tokio::select! {
                    n = rx.recv() => n,
                    _ = stop.wait_for(|s| *s) => None,
                };
                let Some(notification) = next else { break };
                let current = lock(&target).clone();
                if let Some(t) = current {
                    let record = post(&http, &t, &notification).await;
                    lock(&deliveries).push(record);
                }
                let (count, notify) = &*pending;
                let mut c = lock(count);
                *c = c.saturating_sub(1);
                notify.notify_waiters();
            }
            let (count, notify) = &*pending;
            *lock(count) = 0;
            notify.notify_waiters();
        });
        sender
    }

    pub fn raise(&self, notification: Notification) {
        lock(&self.raised).push(notification.clone());
        *lock(&self.pending.0) += 1;
        if self.queue.send(notification).is_err() {
            *lock(&self.pending.0) = 0;
        }
    }

    /// Waits until every raised notification has been sent (or given up).
    pub async fn flush(&self) {
        loop {
            let (count, notify) = &*self.pending;
            let waiter = notify.notified();
            if *lock(count) == 0 {
                return;
            }
            waiter.await;
        }
    }

    /// The console's "Test Connection": a GET with the Basic credentials.
    pub async fn test_connection(&self) -> Option<EventDelivery> {
        let t = lock(&self.target).clone()?;
        let request = self
            .http
            .get(&t.url)
            .basic_auth(&t.username, Some(&t.password));
        let record = match request.send().await {
            Ok(resp) => EventDelivery {
                event_id: None,
                device_id: None,
                method: "GET".into(),
                url: t.url.clone(),
                status: Some(resp.status().as_u16()),
                attempts: 1,
                error: None,
            },
            Err(e) => EventDelivery {
                event_id: None,
                device_id: None,
                method: "GET".into(),
                url: t.url.clone(),
                status: None,
                attempts: 1,
                error: Some(e.to_string()),
            },
        };
        lock(&self.deliveries).push(record.clone());
        Some(record)
    }
}

async fn post(http: &reqwest::Client, t: &EventTarget, n: &Notification) -> EventDelivery {
    let mut record = EventDelivery {
        event_id: Some(n.kind.event_id()),
        device_id: Some(n.device_id),
        method: "POST".into(),
        url: t.url.clone(),
        status: None,
        attempts: 0,
        error: None,
    };
    let mut wait = t.retry_wait;
    while record.attempts < ATTEMPTS {
        record.attempts += 1;
        let sent = http
            .post(&t.url)
            .basic_auth(&t.username, Some(&t.password))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(n.body.to_string())
            .send()
            .await;
        match sent {
            Ok(resp) => {
                let status = resp.status().as_u16();
                record.status = Some(status);
                record.error = None;
                if status < 500 {
                    break;
                }
            }
            Err(e) => {
                record.status = None;
                record.error = Some(e.to_string());
            }
        }
        if record.attempts < ATTEMPTS {
            tokio::time::sleep(wait).await;
            wait *= 2;
        }
    }
    record
}
