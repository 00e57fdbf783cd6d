//! How a simulator is started: the tenant, credentials, limits, faults, latency, installs and
//! the event-notification target.

use crate::events::EventTarget;
use crate::faults::FaultConfig;
use crate::tenant::Tenant;
use std::net::SocketAddr;
use std::time::Duration;

/// What a client needs to sign in: an OAuth client, a Basic admin and the tenant code (API key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub client_id: String,
    pub client_secret: String,
    pub username: String,
    pub password: String,
    pub tenant_code: String,
}

impl Default for Credentials {
    fn default() -> Self {
        Self {
            client_id: "loadout-sim-client".into(),
            client_secret: "sim-secret-8c1f2b".into(),
            username: "loadout-api".into(),
            password: "sim-password-5e7a".into(),
            tenant_code: "SIMTENANTCODE0570".into(),
        }
    }
}

/// UEM's own response time: every `/api` call waits a duration drawn uniformly from
/// `min..=max` with a seeded RNG, on tokio's clock (so a paused clock makes it free in real
/// time and reproducible).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LatencyModel {
    pub min: Duration,
    pub max: Duration,
    pub seed: u64,
}

impl LatencyModel {
    pub fn between(min: Duration, max: Duration) -> Self {
        Self {
            min: min.min(max),
            max: max.max(min),
            seed: 0,
        }
    }

    /// 150-600 ms, the benchmark's default.
    pub fn typical() -> Self {
        Self::between(Duration::from_millis(150), Duration::from_millis(600))
    }

    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
}

/// How full the tenant's rate-limit bucket is at start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BucketStart {
    /// A tenant nobody called for a while: a whole minute's burst is available.
    #[default]
    Full,
    /// A tenant in steady use: every call waits for its share of the minute.
    Empty,
}

/// The check-in delay a simulator starts with unless told otherwise: long enough that a client
/// cannot mistake an assignment for an install, short enough for tests on a paused clock.
pub const DEFAULT_CHECK_IN_DELAY: Duration = Duration::from_secs(120);

#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Where to listen; `None` = 127.0.0.1 on a free port.
    pub addr: Option<SocketAddr>,
    pub tenant: Tenant,
    pub credentials: Credentials,
    /// Lifetime of issued OAuth tokens (UEM: one hour).
    pub token_lifetime: Duration,
    /// The tenant's rate limit, as a token bucket of this size refilled over a minute.
    pub requests_per_minute: u32,
    pub bucket_start: BucketStart,
    pub faults: FaultConfig,
    /// UEM's response time; `None` answers at once.
    pub latency: Option<LatencyModel>,
    /// Every admin is read-only: mutations answer 403.
    pub read_only: bool,
    /// How long after an `Auto` assignment reaches a device it shows as installed (zero: at
    /// once).
    pub check_in_delay: Duration,
    /// Where event notifications go; `None` sends none (they are still recorded).
    pub events: Option<EventTarget>,
}

impl SimConfig {
    pub fn new(tenant: Tenant) -> Self {
        Self {
            addr: None,
            tenant,
            credentials: Credentials::default(),
            token_lifetime: Duration::from_secs(3600),
            requests_per_minute: 120,
            bucket_start: BucketStart::Full,
            faults: FaultConfig::default(),
            latency: None,
            read_only: false,
            check_in_delay: DEFAULT_CHECK_IN_DELAY,
            events: None,
        }
    }

    pub fn addr(mut self, addr: SocketAddr) -> Self {
        self.addr = Some(addr);
        self
    }

    pub fn requests_per_minute(mut self, rpm: u32) -> Self {
        self.requests_per_minute = rpm;
        self
    }

    pub fn bucket_start(mut self, start: BucketStart) -> Self {
        self.bucket_start = start;
        self
    }

    pub fn token_lifetime(mut self, lifetime: Duration) -> Self {
        self.token_lifetime = lifetime;
        self
    }

    pub fn faults(mut self, faults: FaultConfig) -> Self {
        self.faults = faults;
        self
    }

    pub fn latency(mut self, latency: LatencyModel) -> Self {
        self.latency = Some(latency);
        self
    }

    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = credentials;
        self
    }

    pub fn read_only(mut self, read_only: bool) -> Self {
        self.read_only = read_only;
        self
    }

    pub fn check_in_delay(mut self, delay: Duration) -> Self {
        self.check_in_delay = delay;
        self
    }

    pub fn events(mut self, target: EventTarget) -> Self {
        self.events = Some(target);
        self
    }
}
