//! `loadout policy check DIR`: everything an admin should know about a policy directory before
//! pushing it, without stopping at the first problem.

use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;

use serde::Serialize;

use crate::domain::Catalog;

use super::compile::compile;
use super::coverage::PopulationReport;
use super::engine::read_dir;
use super::rule::RuleEffect;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PolicyReport {
    /// The version the directory would be loaded as (`pv-...`), when it has no errors.
    pub version: Option<String>,
    pub files: Vec<String>,
    pub permits: usize,
    pub forbids: usize,
    /// Rule ids, sorted.
    pub ids: Vec<String>,
    pub warnings: Vec<String>,
    pub errors: Vec<String>,
    /// What the set does on a population (an org with its devices), when one was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub population: Option<PopulationReport>,
}

impl PolicyReport {
    /// True when the directory would load.
    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }

    /// Adds the population findings: their errors and warnings join the report's.
    pub fn with_population(mut self, population: PopulationReport) -> Self {
        self.errors.extend(population.errors());
        self.warnings.extend(population.warnings());
        self.population = Some(population);
        self
    }
}

/// The text `loadout policy check` prints.
impl fmt::Display for PolicyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} file(s), {} permit(s), {} forbid(s){}{}",
            self.files.len(),
            self.permits,
            self.forbids,
            self.version
                .as_ref()
                .map(|v| format!(", version {v}"))
                .unwrap_or_default(),
            self.population
                .as_ref()
                .map(|p| format!("; checked on {} users ({} cohorts)", p.users, p.cohorts))
                .unwrap_or_default()
        )?;
        for error in &self.errors {
            writeln!(f, "error: {error}")?;
        }
        for warning in &self.warnings {
            writeln!(f, "warning: {warning}")?;
        }
        if self.is_ok() {
            writeln!(f, "ok: {}", self.ids.join(", "))?;
        }
        Ok(())
    }
}

/// Checks a policy directory; with a catalog, also warns about bundles and apps that policies
/// name but no catalog entry has (usually a typo: Cedar cannot know the catalog).
pub fn check_dir(dir: impl AsRef<Path>, catalog: Option<&Catalog>) -> PolicyReport {
    match read_dir(dir.as_ref()) {
        Ok((schema, files)) => check_sources(&schema, &files, catalog),
        Err(e) => PolicyReport {
            errors: vec![e.to_string()],
            ..PolicyReport::default()
        },
    }
}

pub fn check_sources(
    schema_text: &str,
    files: &[(String, String)],
    catalog: Option<&Catalog>,
) -> PolicyReport {
    let compiled = compile(schema_text, files);
    let mut warnings = compiled.warnings;
    if let Some(catalog) = catalog {
        let bundles: BTreeSet<&str> = catalog
            .apps()
            .flat_map(|a| a.bundles.iter().map(String::as_str))
            .collect();
        for policy in compiled.policies.policies() {
            let Ok(json) = policy.to_json() else { continue };
            let mut named = Vec::new();
            entity_literals(&json, &mut named);
            named.sort();
            named.dedup();
            let id = policy.id().to_string();
            let file = compiled.rules.get(&id).map_or("", |r| r.file.as_str());
            for (kind, name) in named {
                let missing = match kind.as_str() {
                    "Loadout::Bundle" => !bundles.contains(name.as_str()),
                    "Loadout::App" => catalog.get(&name.as_str().into()).is_none(),
                    _ => false,
                };
                if missing {
                    warnings.push(format!(
                        "{file}: policy {id:?} names {kind}::{name:?}, which is not in the catalog"
                    ));
                }
            }
        }
    }
    let errors: Vec<String> = compiled.problems.iter().map(ToString::to_string).collect();
    let mut file_names: Vec<String> = files.iter().map(|(n, _)| n.clone()).collect();
    file_names.sort();
    PolicyReport {
        version: errors.is_empty().then_some(compiled.version),
        files: file_names,
        permits: count(&compiled.rules, RuleEffect::Permit),
        forbids: count(&compiled.rules, RuleEffect::Forbid),
        ids: compiled.rules.keys().cloned().collect(),
        warnings,
        errors,
        population: None,
    }
}

fn count(rules: &std::collections::BTreeMap<String, super::Rule>, effect: RuleEffect) -> usize {
    rules.values().filter(|r| r.effect == effect).count()
}

/// Entity literals in a policy's JSON form: objects with a string `type` and `id`.
fn entity_literals(value: &serde_json::Value, out: &mut Vec<(String, String)>) {
    match value {
        serde_json::Value::Object(map) => {
            if let (Some(serde_json::Value::String(t)), Some(serde_json::Value::String(id))) =
                (map.get("type"), map.get("id"))
            {
                out.push((t.clone(), id.clone()));
            }
            map.values().for_each(|v| entity_literals(v, out));
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| entity_literals(v, out)),
        _ => {}
    }
}
