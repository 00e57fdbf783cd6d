//! From source texts to a checked policy set: parse every file, read the annotations, refuse
//! duplicates, validate against the schema in strict mode. Collects every problem rather than
//! stopping at the first, so `policy check` shows an admin all of them at once.

use std::collections::BTreeMap;
use std::str::FromStr;

use cedar_policy::{Policy, PolicyId, PolicySet, Schema, ValidationMode, Validator};
use sha2::{Digest, Sha256};

use super::error::PolicyError;
use super::rule::{Rule, RuleEffect};

/// The schema's file name inside a policy directory.
pub const SCHEMA_FILE: &str = "schema.cedarschema";

pub(crate) struct Compiled {
    pub schema: Option<Schema>,
    /// Every accepted policy, each with its `@id` as Cedar policy id.
    pub policies: PolicySet,
    /// The permits alone: tells which permits a forbid overrode.
    pub permits: PolicySet,
    pub rules: BTreeMap<String, Rule>,
    pub problems: Vec<PolicyError>,
    pub warnings: Vec<String>,
    pub version: String,
}

pub(crate) fn compile(schema_text: &str, files: &[(String, String)]) -> Compiled {
    let mut problems = Vec::new();
    let mut warnings = Vec::new();

    let schema = match Schema::from_cedarschema_str(schema_text) {
        Ok((schema, schema_warnings)) => {
            warnings.extend(schema_warnings.map(|w| format!("{SCHEMA_FILE}: {w}")));
            Some(schema)
        }
        Err(e) => {
            problems.push(PolicyError::Schema {
                file: SCHEMA_FILE.to_owned(),
                message: e.to_string(),
            });
            None
        }
    };

    let mut sorted: Vec<&(String, String)> = files.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));

    let mut policies = PolicySet::new();
    let mut permits = PolicySet::new();
    let mut rules: BTreeMap<String, Rule> = BTreeMap::new();
    for (file, text) in &sorted {
        let parsed = match PolicySet::from_str(text) {
            Ok(set) => set,
            Err(errors) => {
                // Display shows only the first; an admin fixing a file wants them all.
                let message = errors
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ");
                problems.push(PolicyError::Syntax {
                    file: file.clone(),
                    message,
                });
                continue;
            }
        };
        for (n, template) in in_source_order(parsed.templates().map(|t| t.id()))
            .iter()
            .enumerate()
        {
            problems.push(PolicyError::Template {
                file: file.clone(),
                position: format!("template #{} ({template})", n + 1),
            });
        }
        let mut in_file: Vec<&Policy> = parsed.policies().collect();
        in_file.sort_by_key(|p| source_ordinal(p.id()));
        for (n, policy) in in_file.into_iter().enumerate() {
            let rule = match Rule::from_policy(policy, file, text, n + 1) {
                Ok(rule) => rule,
                Err(e) => {
                    problems.push(e);
                    continue;
                }
            };
            if rule.effect == RuleEffect::Forbid && policy.annotation("push").is_some() {
                warnings.push(format!(
                    "{file}: forbid {:?} has @push, which only permits use",
                    rule.id
                ));
            }
            if let Some(first) = rules.get(&rule.id) {
                problems.push(PolicyError::DuplicateId {
                    file: file.clone(),
                    id: rule.id.clone(),
                    first_file: first.file.clone(),
                });
                continue;
            }
            let renamed = policy.new_id(PolicyId::new(&rule.id));
            if rule.effect == RuleEffect::Permit {
                // Same ids in a second set: cannot collide, the first insert succeeded.
                let _ = permits.add(renamed.clone());
            }
            if let Err(e) = policies.add(renamed) {
                problems.push(PolicyError::Syntax {
                    file: file.clone(),
                    message: e.to_string(),
                });
                continue;
            }
            rules.insert(rule.id.clone(), rule);
        }
    }

    if let Some(schema) = &schema {
        let result = Validator::new(schema.clone()).validate(&policies, ValidationMode::Strict);
        for error in result.validation_errors() {
            let id = error.policy_id().to_string();
            let (file, line) = rules
                .get(&id)
                .map_or((String::new(), 0), |r| (r.file.clone(), r.line));
            problems.push(PolicyError::Validation {
                file,
                id,
                line,
                message: error.to_string(),
            });
        }
        for warning in result.validation_warnings() {
            let id = warning.policy_id().to_string();
            let file = rules.get(&id).map_or("", |r| r.file.as_str());
            warnings.push(format!("{file}: policy {id:?}: {warning}"));
        }
    }

    Compiled {
        schema,
        policies,
        permits,
        rules,
        problems,
        warnings,
        version: version_of(schema_text, &sorted),
    }
}

/// `pv-` and 12 hex digits of a SHA-256 over the schema and the files, sorted by name, so that
/// the same texts always give the same version whatever order they were read in.
fn version_of(schema_text: &str, sorted: &[&(String, String)]) -> String {
    let mut hasher = Sha256::new();
    for (name, text) in std::iter::once((SCHEMA_FILE, schema_text))
        .chain(sorted.iter().map(|(n, t)| (n.as_str(), t.as_str())))
    {
        hasher.update(name.as_bytes());
        hasher.update([0u8]);
        hasher.update(text.as_bytes());
        hasher.update([0u8]);
    }
    let digest = hex::encode(hasher.finalize());
    format!("pv-{}", &digest[..12])
}

/// Cedar names the policies of a parsed text `policy0`, `policy1`, ... in source order.
fn source_ordinal(id: &PolicyId) -> usize {
    id.to_string()
        .trim_start_matches("policy")
        .parse()
        .unwrap_or(usize::MAX)
}

fn in_source_order<'a>(ids: impl Iterator<Item = &'a PolicyId>) -> Vec<&'a PolicyId> {
    let mut ids: Vec<&PolicyId> = ids.collect();
    ids.sort_by_key(|id| source_ordinal(id));
    ids
}
