//! A rule is one Cedar policy seen through Loadout's annotations: `@id` names it, `@reason` says
//! why in an admin's words, `@push` says how a permit's apps reach the device.

use crate::domain::{PushMode, Reason};
use cedar_policy::{Effect, Policy};
use serde::Serialize;

use super::error::PolicyError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleEffect {
    Permit,
    Forbid,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rule {
    pub id: String,
    pub effect: RuleEffect,
    pub reason: String,
    /// Only permits carry a push mode.
    pub push: Option<PushMode>,
    pub file: String,
    /// 1-based line of the `@id` annotation, 0 when it could not be found.
    pub line: usize,
}

impl Rule {
    pub fn as_reason(&self) -> Reason {
        Reason {
            rule_id: self.id.clone(),
            text: self.reason.clone(),
        }
    }

    /// Reads and checks the annotations of one parsed policy. `ordinal` is its 1-based position in
    /// the file, used to name it when it has no `@id`.
    pub(crate) fn from_policy(
        policy: &Policy,
        file: &str,
        text: &str,
        ordinal: usize,
    ) -> Result<Rule, PolicyError> {
        let effect = match policy.effect() {
            Effect::Permit => RuleEffect::Permit,
            Effect::Forbid => RuleEffect::Forbid,
        };
        let id = non_empty(policy.annotation("id")).ok_or_else(|| PolicyError::MissingId {
            file: file.to_owned(),
            position: format!("policy #{ordinal} ({})", effect_word(effect)),
        })?;
        let reason =
            non_empty(policy.annotation("reason")).ok_or_else(|| PolicyError::MissingReason {
                file: file.to_owned(),
                id: id.to_owned(),
            })?;
        let push = match effect {
            RuleEffect::Permit => {
                let found = policy.annotation("push");
                let mode = match found.map(str::trim) {
                    Some("auto") => PushMode::Auto,
                    Some("on_demand") => PushMode::OnDemand,
                    _ => {
                        return Err(PolicyError::BadPush {
                            file: file.to_owned(),
                            id: id.to_owned(),
                            found: found.map(str::to_owned),
                        });
                    }
                };
                Some(mode)
            }
            RuleEffect::Forbid => None,
        };
        Ok(Rule {
            id: id.to_owned(),
            effect,
            reason: reason.to_owned(),
            push,
            file: file.to_owned(),
            line: line_of_id(text, id),
        })
    }
}

pub(crate) fn effect_word(effect: RuleEffect) -> &'static str {
    match effect {
        RuleEffect::Permit => "permit",
        RuleEffect::Forbid => "forbid",
    }
}

fn non_empty(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

/// Cedar's public API does not expose source positions without `miette`; the `@id` annotation is
/// unique, so its line is a good enough anchor for an admin reading an error.
fn line_of_id(text: &str, id: &str) -> usize {
    text.lines()
        .position(|line| {
            let compact: String = line.chars().filter(|c| !c.is_whitespace()).collect();
            compact.contains(&format!("@id(\"{id}\")"))
        })
        .map_or(0, |i| i + 1)
}
