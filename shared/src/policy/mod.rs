//! Cedar policy: load a directory (schema + `*.cedar`), validate it strictly, and decide which
//! apps a user should have on which device, every decision carrying the rules behind it.
//!
//! Permits are entitlements, forbids are guardrails. Every policy carries `@id` (its rule id),
//! `@reason` (why, for an admin) and, for permits, `@push("auto" | "on_demand")`.
//! Pure: nothing here does I/O except [`PolicyEngine::load_dir`] and [`check_dir`] reading files.

mod check;
mod cohort;
mod compile;
mod coverage;
mod desired;
mod engine;
mod error;
mod facts;
mod fleet;
mod guardrails;
mod inputs;
mod rule;
mod slice;
mod verdict;

#[cfg(test)]
mod tests;

pub use check::{PolicyReport, check_dir, check_sources};
pub use cohort::{CohortKey, Cohorts, FleetMember, FleetProgress};
pub use compile::SCHEMA_FILE;
pub use coverage::{Overlap, PopulationReport};
pub use desired::{DesiredApps, EvaluationFault};
pub use engine::PolicyEngine;
pub use error::PolicyError;
pub use facts::{CatalogFacts, DeviceFacts, UserFacts};
pub use fleet::FleetDecisions;
pub use guardrails::FleetGuardrails;
pub use inputs::PolicyInputs;
pub use rule::{Rule, RuleEffect};
pub use verdict::{RuleError, Verdict};
