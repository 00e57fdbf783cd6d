//! Reading the data files of DESIGN.md (org.csv, devices.csv, usage.csv, catalog.yaml, a policy
//! directory) for the offline commands, each failure naming the file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use loadout::domain::org::{OrgDataError, parse_devices, parse_org, parse_usage};
use loadout::domain::{AppUsage, Catalog, CatalogError, Device, Employee, UserId};
use loadout::policy::{PolicyEngine, PolicyError};

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Data {
        path: String,
        #[source]
        source: OrgDataError,
    },
    #[error("{path}: {source}")]
    Catalog {
        path: String,
        #[source]
        source: CatalogError,
    },
    #[error("policies in {path}: {source}")]
    Policies {
        path: String,
        #[source]
        source: PolicyError,
    },
}

fn read(path: &Path) -> Result<String, FileError> {
    std::fs::read_to_string(path).map_err(|source| FileError::Read {
        path: path.display().to_string(),
        source,
    })
}

fn data<T>(path: &Path, parsed: Result<T, OrgDataError>) -> Result<T, FileError> {
    parsed.map_err(|source| FileError::Data {
        path: path.display().to_string(),
        source,
    })
}

pub fn org(path: &Path) -> Result<Vec<Employee>, FileError> {
    data(path, parse_org(&read(path)?))
}

pub fn devices(path: &Path) -> Result<Vec<Device>, FileError> {
    data(path, parse_devices(&read(path)?))
}

pub fn usage(path: &Path) -> Result<BTreeMap<UserId, Vec<AppUsage>>, FileError> {
    data(path, parse_usage(&read(path)?))
}

pub fn catalog(path: &Path) -> Result<Catalog, FileError> {
    Catalog::from_yaml(&read(path)?).map_err(|source| FileError::Catalog {
        path: path.display().to_string(),
        source,
    })
}

pub fn policies(dir: &Path) -> Result<PolicyEngine, FileError> {
    PolicyEngine::load_dir(dir).map_err(|source| FileError::Policies {
        path: dir.display().to_string(),
        source,
    })
}

/// `name` beside `file` (devices.csv beside an org.csv), when it exists: a tenant's files
/// travel together.
pub fn beside(file: &Path, name: &str) -> Option<PathBuf> {
    let sibling = file.parent().unwrap_or(Path::new(".")).join(name);
    sibling.is_file().then_some(sibling)
}
