//! What the policies said about one app on one device, and why.

use crate::domain::{PushMode, Reason};
use serde::Serialize;

/// A policy that could not be evaluated (for example an attribute out of range). Cedar treats it
/// as not applying; Loadout reports it so that it is never silently lost.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct RuleError {
    pub rule_id: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// At least one permit applied and no forbid did. `reasons` are the permits, by rule id.
    Allow {
        push_mode: PushMode,
        reasons: Vec<Reason>,
        errors: Vec<RuleError>,
    },
    /// A permit applied but a forbid guardrail blocked it. `reasons` are the forbids;
    /// `overridden` the permits they overrode.
    Deny {
        reasons: Vec<Reason>,
        overridden: Vec<Reason>,
        errors: Vec<RuleError>,
    },
    /// No permit applies: the app is not for this user on this device.
    NoPermit { errors: Vec<RuleError> },
}

impl Verdict {
    pub fn is_allow(&self) -> bool {
        matches!(self, Verdict::Allow { .. })
    }

    pub fn reasons(&self) -> &[Reason] {
        match self {
            Verdict::Allow { reasons, .. } | Verdict::Deny { reasons, .. } => reasons,
            Verdict::NoPermit { .. } => &[],
        }
    }

    pub fn errors(&self) -> &[RuleError] {
        match self {
            Verdict::Allow { errors, .. }
            | Verdict::Deny { errors, .. }
            | Verdict::NoPermit { errors } => errors,
        }
    }
}
