//! Fault injection: what can go wrong between a client and UEM, drawn from a seeded RNG so that a
//! run is reproducible, or scripted one request at a time for exact tests.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use std::collections::VecDeque;
use std::time::Duration;

/// Probabilities (0.0..=1.0) per `/api` request. At most one of the failures applies to a request;
/// latency adds to whatever else happens.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultConfig {
    pub seed: u64,
    /// Answer 500/502/503 instead of doing the work.
    pub server_error: f64,
    /// Answer 429 with `Retry-After: retry_after` (whole seconds, at least 1).
    pub throttle: f64,
    pub retry_after: Duration,
    /// Hang for `hang_for` (longer than the client's timeout) and then answer 504.
    pub timeout: f64,
    pub hang_for: Duration,
    /// Mutations only: do the work, then fail (a 502, or a hang like `timeout`), so the client
    /// cannot know it succeeded.
    pub applied_then_dropped: f64,
    /// Add `latency_by` before answering.
    pub latency: f64,
    pub latency_by: Duration,
    /// Only requests whose path contains this (case-insensitively) are subject to faults.
    pub path_contains: Option<String>,
}

impl Default for FaultConfig {
    fn default() -> Self {
        Self {
            seed: 0,
            server_error: 0.0,
            throttle: 0.0,
            retry_after: Duration::from_secs(2),
            timeout: 0.0,
            hang_for: Duration::from_secs(60),
            applied_then_dropped: 0.0,
            latency: 0.0,
            latency_by: Duration::from_millis(200),
            path_contains: None,
        }
    }
}

impl FaultConfig {
    /// No faults.
    pub fn none() -> Self {
        Self::default()
    }
}

/// One fault, for scripting the next requests exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer this status (5xx) without doing the work.
    Status(u16),
    /// 429 with this Retry-After.
    Throttle(Duration),
    /// Wait, then proceed normally.
    Latency(Duration),
    /// Hang this long, then 504, without doing the work.
    Hang(Duration),
    /// Mutations: do the work, then answer this status. Reads: as `Status`.
    AppliedThenStatus(u16),
    /// Mutations: do the work, then hang. Reads: as `Hang`.
    AppliedThenHang(Duration),
}

#[derive(Debug)]
pub(crate) struct FaultState {
    pub config: FaultConfig,
    rng: StdRng,
    pub scripted: VecDeque<Fault>,
}

impl FaultState {
    pub fn new(config: FaultConfig) -> Self {
        Self {
            rng: StdRng::seed_from_u64(config.seed),
            config,
            scripted: VecDeque::new(),
        }
    }

    pub fn set(&mut self, config: FaultConfig) {
        *self = Self {
            scripted: std::mem::take(&mut self.scripted),
            ..Self::new(config)
        };
    }

    /// The faults for one request: an optional latency and an optional failure.
    pub fn draw(&mut self, path: &str, mutating: bool) -> (Option<Duration>, Option<Fault>) {
        if let Some(f) = self.scripted.pop_front() {
            return match f {
                Fault::Latency(d) => (Some(d), None),
                other => (None, Some(other)),
            };
        }
        let c = &self.config;
        if let Some(filter) = &c.path_contains
            && !path
                .to_ascii_lowercase()
                .contains(&filter.to_ascii_lowercase())
        {
            return (None, None);
        }
        let latency = (c.latency > 0.0 && self.rng.random_bool(c.latency.clamp(0.0, 1.0)))
            .then_some(c.latency_by);
        let r: f64 = self.rng.random();
        let mut edge = c.server_error;
        let fault = if r < edge {
            let statuses = [500, 502, 503];
            Some(Fault::Status(statuses[self.rng.random_range(0..3)]))
        } else if r < {
            edge += c.throttle;
            edge
        } {
            Some(Fault::Throttle(c.retry_after))
        } else if r < {
            edge += c.timeout;
            edge
        } {
            Some(Fault::Hang(c.hang_for))
        } else if mutating && r < edge + c.applied_then_dropped {
            if self.rng.random_bool(0.5) {
                Some(Fault::AppliedThenStatus(502))
            } else {
                Some(Fault::AppliedThenHang(c.hang_for))
            }
        } else {
            None
        };
        (latency, fault)
    }
}
