//! The tenant's data: enrollment users, their devices and the DEEM app events a report reads
//! (`employee_experience.apps`), seeded by tests and changed at runtime, plus a synthetic
//! generator that produces a fleet's worth of rows without holding them (benchmarks).

use chrono::{DateTime, Duration, Utc};
use std::collections::BTreeMap;

/// A UEM enrollment user as Intelligence knows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedUser {
    pub user_name: String,
    pub email: String,
}

/// A device enrolled to a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedDevice {
    pub name: String,
    pub user_name: String,
    /// `Windows Desktop` or `Apple macOS` (DEEM's desktop platforms).
    pub platform: String,
}

/// One `Application Foreground` event: the app came to the foreground on the device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForegroundEvent {
    pub device: String,
    /// `_application_name` as DEEM reports it (`Slack`, `Slack.app`).
    pub app: String,
    pub at: DateTime<Utc>,
    pub duration_millis: u64,
}

impl ForegroundEvent {
    pub fn new(device: &str, app: &str, at: DateTime<Utc>) -> Self {
        Self {
            device: device.to_owned(),
            app: app.to_owned(),
            at,
            duration_millis: 60_000,
        }
    }
}

/// What the `employee_experience.apps.user` attribute holds. Its contents are an open question
/// of the research (user name, e-mail or UPN); tests pick one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UserColumn {
    #[default]
    UserName,
    Email,
}

/// A fleet described by numbers instead of rows: device `i` (`DEV-000001`...) belongs to user
/// `user000001`, and for every (device, app) pair one foreground event falls at a deterministic
/// time inside the report's range, except one pair in `unused_one_in` that has none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntheticUsage {
    pub devices: u32,
    pub apps: Vec<String>,
    pub unused_one_in: u32,
    pub seed: u64,
}

impl SyntheticUsage {
    pub fn user_name(device: u32) -> String {
        format!("user{device:06}")
    }

    pub fn email(device: u32) -> String {
        format!("user{device:06}@example.com")
    }

    pub fn device_name(device: u32) -> String {
        format!("DEV-{device:06}")
    }

    /// Whether the pair has an event, and how many seconds before the range's end it is.
    pub fn event(&self, device: u32, app: usize, span_secs: i64) -> Option<i64> {
        let h = mix(self.seed ^ ((device as u64) << 16) ^ app as u64);
        if self.unused_one_in > 0 && h.is_multiple_of(self.unused_one_in as u64) {
            return None;
        }
        Some(((h >> 8) % span_secs.max(1) as u64) as i64)
    }
}

/// SplitMix64's finalizer: a cheap, well-spread hash of a counter.
pub(crate) fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

#[derive(Debug, Default, Clone)]
pub(crate) struct Usage {
    pub users: BTreeMap<String, SeedUser>,
    pub devices: BTreeMap<String, SeedDevice>,
    pub events: Vec<ForegroundEvent>,
    pub synthetic: Option<SyntheticUsage>,
    pub user_column: UserColumn,
}

impl Usage {
    /// The user and platform of a device's events (unknown devices report an empty user).
    pub fn owner(&self, device: &str) -> (String, String) {
        let Some(d) = self.devices.get(device) else {
            return (String::new(), "Windows Desktop".into());
        };
        let user = match (self.user_column, self.users.get(&d.user_name)) {
            (UserColumn::Email, Some(u)) => u.email.clone(),
            _ => d.user_name.clone(),
        };
        (user, d.platform.clone())
    }
}

/// One row of `employee_experience.apps`, every attribute the simulator knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EventRow {
    pub event_name: &'static str,
    pub event_timestamp: DateTime<Utc>,
    pub user: String,
    pub device_name: String,
    pub application_name: String,
    pub duration_millis: u64,
    pub device_platform: String,
    pub os_version: String,
    pub event_id: String,
}

pub(crate) const FOREGROUND: &str = "Application Foreground";

impl EventRow {
    pub fn from_event(usage: &Usage, e: &ForegroundEvent, n: u64) -> Self {
        let (user, platform) = usage.owner(&e.device);
        Self {
            event_name: FOREGROUND,
            event_timestamp: e.at,
            user,
            device_name: e.device.clone(),
            application_name: e.app.clone(),
            duration_millis: e.duration_millis,
            device_platform: platform,
            os_version: "10.0.22631".into(),
            event_id: event_id(n),
        }
    }

    pub fn synthetic(
        s: &SyntheticUsage,
        user_column: UserColumn,
        device: u32,
        app: usize,
        at: DateTime<Utc>,
    ) -> Self {
        let user = match user_column {
            UserColumn::UserName => SyntheticUsage::user_name(device),
            UserColumn::Email => SyntheticUsage::email(device),
        };
        Self {
            event_name: FOREGROUND,
            event_timestamp: at,
            user,
            device_name: SyntheticUsage::device_name(device),
            application_name: s.apps[app].clone(),
            duration_millis: 30_000 + (device as u64 % 600) * 1000,
            device_platform: "Windows Desktop".into(),
            os_version: "10.0.22631".into(),
            event_id: event_id(((device as u64) << 8) | app as u64),
        }
    }

    /// The value of a short attribute name, as a string (filters compare strings).
    pub fn attr(&self, name: &str) -> Option<String> {
        Some(match name {
            "event_name" => self.event_name.to_owned(),
            "event_timestamp" => self.event_timestamp.to_rfc3339(),
            "user" => self.user.clone(),
            "device_name" => self.device_name.clone(),
            "_application_name" => self.application_name.clone(),
            "duration_millis" => self.duration_millis.to_string(),
            "_device_platform" => self.device_platform.clone(),
            "os_version" => self.os_version.clone(),
            "_event_id" => self.event_id.clone(),
            _ => return None,
        })
    }
}

fn event_id(n: u64) -> String {
    let h = mix(n);
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        h >> 32,
        (h >> 16) & 0xffff,
        h & 0xfff,
        (n >> 4) & 0xfff,
        mix(h) & 0xffff_ffff_ffff
    )
}

/// The events of the explicit seed whose time falls in `[start, end]` (all when no range).
pub(crate) fn explicit_rows(
    usage: &Usage,
    range: Option<(DateTime<Utc>, DateTime<Utc>)>,
) -> Vec<EventRow> {
    usage
        .events
        .iter()
        .enumerate()
        .filter(|(_, e)| range.is_none_or(|(s, end)| e.at >= s && e.at <= end))
        .map(|(n, e)| EventRow::from_event(usage, e, n as u64))
        .collect()
}

/// The synthetic rows' time: `back` seconds before the range's end.
pub(crate) fn synthetic_time(end: DateTime<Utc>, back: i64) -> DateTime<Utc> {
    end - Duration::seconds(back)
}

/// The data type the metadata API reports for an attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DataType {
    String,
    DateTime,
    Long,
}

impl DataType {
    pub fn as_str(self) -> &'static str {
        match self {
            DataType::String => "STRING",
            DataType::DateTime => "DATETIME",
            DataType::Long => "LONG",
        }
    }
}

/// The attributes of `employee_experience.apps` that Omnissa's sample dashboards read, with the
/// labels the simulator gives them (labels are its own choice).
pub(crate) const ATTRIBUTES: [(&str, DataType, &str); 9] = [
    ("event_name", DataType::String, "Event Name"),
    ("event_timestamp", DataType::DateTime, "Event Timestamp"),
    ("user", DataType::String, "User"),
    ("device_name", DataType::String, "Device Name"),
    ("_application_name", DataType::String, "Application Name"),
    ("duration_millis", DataType::Long, "Duration (ms)"),
    ("_device_platform", DataType::String, "Platform"),
    ("os_version", DataType::String, "OS Version"),
    ("_event_id", DataType::String, "Event ID"),
];

impl EventRow {
    /// The data type of a short attribute name, `None` when the entity has no such attribute.
    pub fn known(name: &str) -> Option<DataType> {
        ATTRIBUTES
            .iter()
            .find(|(n, _, _)| *n == name)
            .map(|(_, t, _)| *t)
    }
}
