//! `loadout policy check DIR [--catalog FILE] [--org FILE] [--devices FILE]`: parse, validate
//! against the schema and annotation rules, cross-check bundle and app names against a catalog,
//! evaluate the set on a population (policies that never apply, overlapping permit/forbid pairs,
//! apps nobody gets), and report.

use chrono::{DateTime, Utc};
use loadout::domain::{Catalog, Population};
use loadout::policy::{CatalogFacts, FleetMember, PolicyError, PolicyReport, check_dir};
use std::path::{Path, PathBuf};

use crate::progress::Progress;
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

/// Where `loadout policy push` writes: a local-mode data directory, or the AWS state table named
/// by `LOADOUT_STATE_TABLE` (credentials and region from the usual AWS environment).
pub enum PushTarget {
    Local(std::path::PathBuf),
    Aws,
}

/// Validates a policy directory with its catalog and makes it the active policy set; returns the
/// version now active.
pub async fn push(dir: &Path, catalog: &Path, target: PushTarget) -> Result<String, String> {
    let catalog_yaml = std::fs::read_to_string(catalog)
        .map_err(|e| format!("cannot read {}: {e}", catalog.display()))?;
    Catalog::from_yaml(&catalog_yaml).map_err(|e| format!("{}: {e}", catalog.display()))?;
    let mut record = crate::local::load_policy_set(dir, catalog_yaml).map_err(|e| e.to_string())?;
    record.pushed_by = std::env::var("USER").unwrap_or_else(|_| "loadout policy push".into());
    let clock: std::sync::Arc<dyn loadout::ports::Clock> =
        std::sync::Arc::new(loadout::ports::SystemClock);
    let store: Box<dyn loadout::ports::StateStore> = match target {
        PushTarget::Local(data_dir) => {
            let db = loadout::adapters::local::LocalDb::open_dir(&data_dir)
                .map_err(|e| e.to_string())?;
            Box::new(loadout::adapters::local::SqliteStateStore::new(db, clock))
        }
        PushTarget::Aws => {
            let aws = loadout::adapters::aws::AwsContext::from_env().await;
            Box::new(aws.state_store(clock).map_err(|e| e.to_string())?)
        }
    };
    loadout::stages::policy_repo::push(store.as_ref(), &record)
        .await
        .map_err(|e| e.to_string())?;
    Ok(record.version)
}
