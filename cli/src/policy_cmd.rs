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
