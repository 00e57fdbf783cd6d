//! `loadout policy check DIR [--catalog FILE]`: parse, validate against the schema and annotation
//! rules, cross-check bundle and app names against a catalog, and report.

use loadout::domain::Catalog;
use loadout::policy::{PolicyReport, check_dir};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("cannot read the catalog {path}: {message}")]
    Catalog { path: String, message: String },
}

pub fn check(dir: &Path, catalog: Option<&Path>) -> Result<PolicyReport, CheckError> {
    let catalog = match catalog {
        Some(path) => {
            let err = |message: String| CheckError::Catalog {
                path: path.display().to_string(),
                message,
            };
            let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
            Some(Catalog::from_yaml(&text).map_err(|e| err(e.to_string()))?)
        }
        None => None,
    };
    Ok(check_dir(dir, catalog.as_ref()))
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
