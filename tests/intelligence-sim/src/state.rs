//! What the three hosts (auth, api, storage) share: credentials and tokens, reports and their
//! runs, the tenant's data, limits, scripted faults and the call log.

use crate::data::Usage;
use crate::rate::{RateLimits, RateWindows};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;
use tokio::time::Instant;

/// A poisoned lock only means a test panicked while holding it; the data is still usable.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The host a call went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Host {
    /// `auth.<env>`: the token endpoint only.
    Auth,
    /// `api.<env>`: every Reports API call.
    Api,
    /// `storage.<env>`: signed report downloads.
    Storage,
}

/// One recorded request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub host: Host,
    pub method: String,
    pub path: String,
    pub status: u16,
    /// The scheme of the `Authorization` header, lower-cased (`bearer`, `basic`), if any.
    pub authorization: Option<String>,
    /// When it arrived, on tokio's clock (simulated under `pause()`).
    pub at: Instant,
}

/// A report definition as created.
#[derive(Debug, Clone)]
pub(crate) struct Report {
    pub id: String,
    pub name: String,
    pub body: Value,
    pub column_names: Vec<String>,
    pub filter: String,
    pub historical: bool,
    pub jsonl: bool,
    /// The resolved range of a HISTORICAL report (relative ranges resolve at run time).
    pub range: RangeSpec,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RangeSpec {
    None,
    Last(Duration),
    Custom(DateTime<Utc>, DateTime<Utc>),
}

/// One run of a report: its schedule record and the download record it produces.
#[derive(Debug, Clone)]
pub(crate) struct Run {
    pub schedule_id: String,
    pub tracking_id: String,
    pub report_id: String,
    pub created_at: DateTime<Utc>,
    pub started: Instant,
    pub ready_after: Duration,
    /// Held PENDING until released (`hold_runs`).
    pub held: bool,
    pub failed: bool,
    /// The download answers 404 (`lose_download`).
    pub lost: bool,
    /// The report's range as resolved at run time.
    pub range: Option<(DateTime<Utc>, DateTime<Utc>)>,
    pub location: String,
}

#[derive(Debug, Clone)]
pub(crate) struct SignedUrl {
    pub tracking_id: String,
    pub expires: Instant,
}

#[derive(Debug, Default)]
pub(crate) struct Faults {
    /// The next n API calls answer this status instead.
    pub fail_next: VecDeque<u16>,
    /// New runs stay PENDING until released.
    pub hold_runs: bool,
    /// The next runs end FAILED.
    pub fail_runs: usize,
    /// The next download requests answer 404.
    pub lose_next_downloads: usize,
}

/// Settings a test may change while the simulator runs.
#[derive(Debug, Clone)]
pub struct Behaviour {
    pub limits: RateLimits,
    /// How long a run takes before its download is COMPLETED (simulated time).
    pub processing: Duration,
    /// Lifetime of issued tokens (the guide: `expires_in: 3599`).
    pub token_lifetime: Duration,
    /// Lifetime of a signed storage URL (not documented; five minutes here).
    pub url_lifetime: Duration,
    /// Create answers 201 (the V1 guide) instead of 200 (the V2 spec).
    pub create_status_201: bool,
    /// CSV headers fully qualified (`employee_experience.apps.user`) instead of the guide
    /// sample's short names with `_utc` on dates.
    pub qualified_headers: bool,
}

impl Default for Behaviour {
    fn default() -> Self {
        Self {
            limits: RateLimits::default(),
            processing: Duration::from_secs(20),
            token_lifetime: Duration::from_secs(3599),
            url_lifetime: Duration::from_secs(300),
            create_status_201: false,
            qualified_headers: false,
        }
    }
}

#[derive(Debug)]
pub(crate) struct Tenant {
    pub reports: BTreeMap<String, Report>,
    pub runs: Vec<Run>,
    pub signed: HashMap<String, SignedUrl>,
    pub tokens: HashMap<String, Instant>,
    pub client_secret: String,
    pub usage: Usage,
    pub counter: u64,
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub org_id: String,
    pub client_id: String,
    pub origins: Origins,
    pub tenant: Mutex<Tenant>,
    pub behaviour: Mutex<Behaviour>,
    pub faults: Mutex<Faults>,
    pub rate: Mutex<RateWindows>,
    pub calls: Mutex<Vec<Call>>,
    pub start_wall: DateTime<Utc>,
    pub start: Instant,
}

#[derive(Debug, Clone)]
pub(crate) struct Origins {
    pub storage: String,
}

impl Shared {
    /// Wall-clock time that moves with tokio's clock, so a paused test sees report timestamps
    /// advance with simulated time.
    pub fn now_wall(&self) -> DateTime<Utc> {
        self.start_wall + chrono::Duration::from_std(self.start.elapsed()).unwrap_or_default()
    }

    pub fn record(&self, call: Call) {
        lock(&self.calls).push(call);
    }

    /// A fresh id in UUID form (deterministic per simulator, so runs are reproducible).
    pub fn next_id(&self, tenant: &mut Tenant) -> String {
        tenant.counter += 1;
        let h = crate::data::mix(tenant.counter ^ 0x1e7e_11ce);
        let g = crate::data::mix(h);
        format!(
            "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
            h >> 32,
            (h >> 16) & 0xffff,
            h & 0xfff,
            g & 0xfff,
            (g >> 16) & 0xffff_ffff_ffff
        )
    }
}
