//! The model's parameters: part of its version, so an audit record names exactly what scored.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelParams {
    /// A user uses an app with at least this many launches in the last 30 days; a record with
    /// fewer (an idle licensed seat) means they have the app but do not use it.
    pub min_launches: u32,
    /// Apps used by at least this share of people are core: the policies push them, so they are
    /// never recommended (nor counted as held-out targets when evaluating).
    pub core_share: f64,
    /// Pseudo-count pulling a cohort's adoption rate towards its parent cohort's: a cohort of
    /// `n` peers is trusted `n / (n + cohort_prior)`.
    pub cohort_prior: f64,
    /// Pseudo-count pulling co-usage ("people who use A also use B") towards B's overall rate.
    pub co_usage_prior: f64,
    /// Weight of co-usage in the score; the rest is cohort adoption.
    pub co_usage_weight: f64,
}

impl Default for ModelParams {
    fn default() -> Self {
        Self {
            min_launches: 1,
            core_share: 0.5,
            cohort_prior: 4.0,
            co_usage_prior: 10.0,
            co_usage_weight: 0.5,
        }
    }
}
