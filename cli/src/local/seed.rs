//! The sample tenant of examples/: loaded once, pushed as the active policy set, and imported into
//! the directory (profiles and app usage), as an HR directory sync would.

use chrono::{DateTime, Utc};
use loadout::domain::org::{OrgDataError, parse_org, parse_usage};
use loadout::domain::{AppUsage, Catalog, CatalogError, Employee, UserId};
use loadout::stages::policy_repo::{self, PolicySetRecord};
use loadout::stages::{Services, StageError, directory};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Org(#[from] OrgDataError),
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error("policies in {path}: {message}")]
    Policy { path: String, message: String },
    #[error("seeding the store: {0}")]
    Store(#[from] StageError),
}

#[derive(Debug, Clone)]
pub struct ExampleData {
    pub dir: PathBuf,
    pub org: Vec<Employee>,
    pub usage: BTreeMap<UserId, Vec<AppUsage>>,
    pub catalog: Catalog,
    pub policy_set: PolicySetRecord,
}

fn read(path: &Path) -> Result<String, SeedError> {
    std::fs::read_to_string(path).map_err(|source| SeedError::Read {
        path: path.display().to_string(),
        source,
    })
}

/// The profiles from org.csv are older than any live HR event, so events always win over them.
fn directory_epoch() -> DateTime<Utc> {
    DateTime::from_timestamp(946_684_800, 0).unwrap_or_default()
}

impl ExampleData {
    pub fn load(dir: &Path) -> Result<Self, SeedError> {
        let org = parse_org(&read(&dir.join("org.csv"))?)?;
        let usage = parse_usage(&read(&dir.join("usage.csv"))?)?;
        let catalog_yaml = read(&dir.join("catalog.yaml"))?;
        let catalog = Catalog::from_yaml(&catalog_yaml)?;
        let policy_dir = dir.join("policies");
        let policy_set = load_policy_set(&policy_dir, catalog_yaml)?;
        Ok(Self {
            dir: dir.to_owned(),
            org,
            usage,
            catalog,
            policy_set,
        })
    }

    /// Pushes the policy set and imports the directory; returns the active policy version.
    pub async fn seed(&self, services: &Services) -> Result<String, SeedError> {
        policy_repo::push(services.store.as_ref(), &self.policy_set).await?;
        directory::seed(services.store.as_ref(), &self.org, directory_epoch()).await?;
        for (user, usage) in &self.usage {
            directory::store_usage(services.store.as_ref(), user, usage).await?;
        }
        Ok(self.policy_set.version.clone())
    }
}

/// Reads a policy directory into a record, validating it with the engine.
pub fn load_policy_set(dir: &Path, catalog_yaml: String) -> Result<PolicySetRecord, SeedError> {
    let err = |message: String| SeedError::Policy {
        path: dir.display().to_string(),
        message,
    };
    let schema = read(&dir.join("schema.cedarschema"))?;
    let mut policies = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|source| SeedError::Read {
        path: dir.display().to_string(),
        source,
    })?;
    for entry in entries {
        let path = entry
            .map_err(|source| SeedError::Read {
                path: dir.display().to_string(),
                source,
            })?
            .path();
        if path.extension().is_some_and(|e| e == "cedar") {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            policies.push((name, read(&path)?));
        }
    }
    policies.sort();
    let engine = loadout::policy::PolicyEngine::from_sources(&schema, &policies)
        .map_err(|e| err(e.to_string()))?;
    Ok(PolicySetRecord {
        version: engine.version().to_owned(),
        schema,
        policies,
        catalog_yaml,
        pushed_at: chrono::Utc::now(),
        pushed_by: "local-mode".into(),
    })
}

/// Validates a policy directory on its own (no catalog), for `loadout policy check`.
pub fn load_policy_set_for_check(dir: &Path) -> Result<PolicySetRecord, SeedError> {
    load_policy_set(dir, String::new())
}
