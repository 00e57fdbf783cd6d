//! `loadout policy check DIR [--catalog FILE] [--org FILE] [--devices FILE]`: parse, validate
//! against the schema and annotation rules, cross-check bundle and app names against a catalog,
//! evaluate the set on a population (policies that never apply, overlapping permit/forbid pairs,
//! apps nobody gets), and report.

use chrono::{DateTime, Utc};
use loadout::domain::{Catalog, Population};
use loadout::policy::{
    CatalogFacts, FleetMember, PolicyEngine, PolicyError, PolicyReport, check_dir,
};
use loadout::stages::admin;
use loadout::stages::policy_repo::{self, PolicySetRecord, VersionInfo};
use loadout::stages::population;
use loadout::whatif::{WhatIfOptions, WhatIfReport, what_if};
use std::path::{Path, PathBuf};

use crate::output::table;
use crate::progress::Progress;
use crate::target::{self, Target};
use crate::tenant_files::{self, FileError};

#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("cannot read the catalog {path}: {message}")]
    Catalog { path: String, message: String },
    #[error(transparent)]
    File(#[from] FileError),
    #[error("checking the policies on the population: {0}")]
    Population(#[from] PolicyError),
}

/// The org checked on when `--org` is not given (from the repository root).
pub const DEFAULT_ORG: &str = "examples/org.csv";

pub struct CheckOptions {
    pub dir: PathBuf,
    pub catalog: Option<PathBuf>,
    /// The population: `None` uses [`DEFAULT_ORG`] when it exists.
    pub org: Option<PathBuf>,
    /// Default: devices.csv beside the org.
    pub devices: Option<PathBuf>,
    /// When the population is decided (policies may read the hour and weekday).
    pub at: DateTime<Utc>,
}

/// Parses and validates the directory; when it loads and a population is at hand, also
/// evaluates it on that population (see `loadout::policy::PopulationReport` for what is an
/// error and what a warning).
pub fn check(options: &CheckOptions) -> Result<PolicyReport, CheckError> {
    let catalog = match &options.catalog {
        Some(path) => Some(read_catalog(path)?),
        None => None,
    };
    let mut report = check_dir(&options.dir, catalog.as_ref());
    if !report.is_ok() {
        return Ok(report);
    }
    let org = match &options.org {
        Some(path) => path.clone(),
        None if Path::new(DEFAULT_ORG).is_file() => PathBuf::from(DEFAULT_ORG),
        None => {
            report.warnings.push(format!(
                "not checked on a population: no org (pass --org, or run where {DEFAULT_ORG} is)"
            ));
            return Ok(report);
        }
    };
    let catalog = match (catalog, tenant_files::beside(&org, "catalog.yaml")) {
        (Some(catalog), _) => catalog,
        (None, Some(path)) => read_catalog(&path)?,
        (None, None) => {
            report.warnings.push(format!(
                "not checked on the population of {}: no catalog (pass --catalog)",
                org.display()
            ));
            return Ok(report);
        }
    };
    let devices = match options
        .devices
        .clone()
        .or_else(|| tenant_files::beside(&org, "devices.csv"))
    {
        Some(path) => tenant_files::devices(&path)?,
        None => Vec::new(),
    };
    let population = Population::new(tenant_files::org(&org)?, devices);
    let engine = tenant_files::policies(&options.dir)?;
    let members = FleetMember::all(&population);
    let facts = CatalogFacts::new(&catalog)?;
    let progress = Progress::on_terminal();
    let coverage = engine.coverage(&members, &facts, options.at, &|p| {
        progress.update("population", p.done, p.total)
    });
    progress.finish();
    Ok(report.with_population(coverage?))
}

fn read_catalog(path: &Path) -> Result<Catalog, CheckError> {
    let err = |message: String| CheckError::Catalog {
        path: path.display().to_string(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    Catalog::from_yaml(&text).map_err(|e| err(e.to_string()))
}

/// A policy set read from a directory and a catalog, validated, ready to push.
pub fn read_set(dir: &Path, catalog: &Path, by: &str) -> Result<PolicySetRecord, String> {
    let catalog_yaml = std::fs::read_to_string(catalog)
        .map_err(|e| format!("cannot read {}: {e}", catalog.display()))?;
    Catalog::from_yaml(&catalog_yaml).map_err(|e| format!("{}: {e}", catalog.display()))?;
    let mut record = crate::local::load_policy_set(dir, catalog_yaml).map_err(|e| e.to_string())?;
    by.clone_into(&mut record.pushed_by);
    Ok(record)
}

/// What activating `candidate` would change over the people the target's directory holds, next
/// to the active set; `None` when no set is active yet (nothing to compare with) or it is the
/// same version.
pub async fn preview(
    target: &Target,
    candidate: &PolicySetRecord,
) -> Result<Option<WhatIfReport>, String> {
    let services = target::services(target).await.map_err(|e| e.to_string())?;
    let store = services.store.as_ref();
    let Some(active) = policy_repo::active(store)
        .await
        .map_err(|e| e.to_string())?
    else {
        return Ok(None);
    };
    if active.version == candidate.version {
        return Ok(None);
    }
    let engine = |r: &PolicySetRecord| {
        PolicyEngine::from_sources(&r.schema, &r.policies)
            .map_err(|e| format!("policy set {}: {e}", r.version))
    };
    let baseline = engine(&active)?;
    let proposed = engine(candidate)?;
    let catalog = Catalog::from_yaml(&candidate.catalog_yaml).map_err(|e| e.to_string())?;
    let now = services.clock.now();
    let employees = population::active_employees(store)
        .await
        .map_err(|e| e.to_string())?;
    let usage = population::usage_of(store, &employees, now)
        .await
        .map_err(|e| e.to_string())?;
    let people = Population::new(employees, Vec::new());
    let progress = Progress::on_terminal();
    let report = what_if(
        &baseline,
        &proposed,
        &people,
        &usage,
        &catalog,
        &WhatIfOptions {
            governance: services.settings.governance(),
            breaker_share: services.settings.breaker.max_share,
            at: now,
        },
        &|p| progress.update(p.set, p.done, p.total),
    );
    progress.finish();
    report.map(Some).map_err(|e| e.to_string())
}

/// Stores and activates a policy set (audited); returns the version now active.
pub async fn push(target: &Target, record: &PolicySetRecord) -> Result<String, String> {
    let services = target::services_or_new(target)
        .await
        .map_err(|e| e.to_string())?;
    admin::policy::push(&services, record)
        .await
        .map_err(|e| e.to_string())?;
    Ok(record.version.clone())
}

pub async fn versions(target: &Target) -> Result<Vec<VersionInfo>, String> {
    let services = target::services(target).await.map_err(|e| e.to_string())?;
    admin::policy::versions(&services)
        .await
        .map_err(|e| e.to_string())
}

pub async fn activate(target: &Target, version: &str, by: &str) -> Result<String, String> {
    let services = target::services(target).await.map_err(|e| e.to_string())?;
    match admin::policy::activate(&services, version, by)
        .await
        .map_err(|e| e.to_string())?
    {
        Some(record) => Ok(record.version),
        None => Err(format!(
            "no stored policy set has version {version:?} (see `loadout policy versions`)"
        )),
    }
}

pub fn render_versions(versions: &[VersionInfo]) -> String {
    if versions.is_empty() {
        return "no policy set was pushed yet\n".to_owned();
    }
    let rows: Vec<Vec<String>> = versions
        .iter()
        .map(|v| {
            vec![
                if v.active { "*" } else { "" }.to_owned(),
                v.version.clone(),
                v.pushed_at.format("%Y-%m-%d %H:%M UTC").to_string(),
                v.pushed_by.clone(),
                v.policy_files.to_string(),
            ]
        })
        .collect();
    table(&["", "VERSION", "PUSHED", "BY", "FILES"], &rows)
}
