//! The relevance model: which optional apps a user is likely to want, learned from what people
//! use. Two signals, both from the usage records (`usage.csv`: launches in 30 days, last use)
//! and the org (`org.csv`):
//!
//! - **cohort adoption**: the share of the user's peers who use the app, in their department,
//!   department and location, title, and title and location. Small cohorts say little, so each
//!   rate is pulled towards its parent cohort's (empirical-Bayes shrinkage with a pseudo-count),
//!   down to the whole organization;
//! - **co-usage**: the share of people using an app the user already uses who also use the
//!   candidate (item-item association on the user x app matrix), pulled towards the candidate's
//!   overall adoption.
//!
//! It ranks apps the user has no usage record of, skipping core apps (used by most people: the
//! policies push those) and every app the caller says the policies forbid for the user, so a
//! recommendation never overrides a guardrail. Each recommendation carries its strongest piece of
//! evidence in words with the real counts ("used by 14 of 17 Account Executives in Austin").
//! [`evaluate`] measures it against a popularity baseline on a held-out split.
//!
//! Pure: data in, data out.

mod corpus;
mod evaluate;
mod explain;
mod params;
mod score;
mod train;

pub use evaluate::{EvalOptions, Evaluation, Metrics, evaluate};
pub use explain::{CohortLevel, Evidence};
pub use params::ModelParams;
pub use score::Recommendation;
pub use train::RelevanceModel;

use crate::domain::UserId;

#[derive(Debug, thiserror::Error)]
pub enum RelevanceError {
    #[error("user {0} is not in the org the model was trained on")]
    UnknownUser(UserId),
    #[error("holdout must be a share between 0 and 1 (exclusive), not {0}")]
    BadHoldout(f64),
    #[error("k must be at least 1")]
    ZeroK,
    #[error("no user has two or more optional apps in use: nothing to hold out and evaluate")]
    NothingToEvaluate,
}

#[cfg(test)]
mod tests;
