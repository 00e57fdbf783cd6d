//! Cedar policy: load a directory (schema + `*.cedar`), validate it strictly, and decide which
//! apps a user should have on which device, every decision carrying the rules behind it.
//!
//! Permits are entitlements, forbids are guardrails. Every policy carries `@id` (its rule id),
//! `@reason` (why, for an admin) and, for permits, `@push("auto" | "on_demand")`.
//! Pure: nothing here does I/O except [`PolicyEngine::load_dir`] and [`check_dir`] reading files.

mod check;
mod compile;
mod desired;
mod engine;
mod error;
mod facts;
mod rule;
mod verdict;

#[cfg(test)]
mod tests;

pub use check::{PolicyReport, check_dir, check_sources};
pub use compile::SCHEMA_FILE;
pub use desired::{DesiredApps, EvaluationFault};
pub use engine::PolicyEngine;
pub use error::PolicyError;
pub use facts::{CatalogFacts, DeviceFacts, UserFacts};
pub use rule::{Rule, RuleEffect};
pub use verdict::{RuleError, Verdict};
