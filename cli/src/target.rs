//! Where an admin command reads and writes: a local-mode data directory (possibly while
//! `loadout local` runs on it: SQLite in WAL mode takes both), or the AWS resources named by the
//! usual `LOADOUT_*` environment (`--aws`).

use loadout::adapters::local::{
    LocalDb, LocalSecrets, QueueSpec, SqliteAuditLog, SqliteQueue, SqliteStateStore,
};
use loadout::config::Settings;
use loadout::ports::{Clock, SystemClock};
use loadout::stages::Services;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, Clone)]
pub enum Target {
    Local(PathBuf),
    Aws,
}

impl Target {
    pub fn new(data_dir: PathBuf, aws: bool) -> Self {
        if aws {
            Target::Aws
        } else {
            Target::Local(data_dir)
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("no Loadout data in {0} (start `loadout local` first, or pass --data-dir)")]
    NoData(String),
    #[error("cannot open the local data: {0}")]
    Local(#[from] loadout::adapters::local::LocalDbError),
    #[error("AWS: {0}")]
    Aws(#[from] loadout::adapters::aws::AwsConfigError),
    #[error("settings: {0}")]
    Settings(#[from] loadout::config::ConfigError),
}

/// The ports of the target, as the functions would use them.
pub async fn services(target: &Target) -> Result<Services, TargetError> {
    if let Target::Local(dir) = target
        && !dir.join("loadout.db").exists()
    {
        return Err(TargetError::NoData(dir.display().to_string()));
    }
    services_or_new(target).await
}

/// [`services`], creating a local data directory that does not exist yet (`policy push` before
/// the first `loadout local`).
pub async fn services_or_new(target: &Target) -> Result<Services, TargetError> {
    let settings = Settings::from_env()?;
    match target {
        Target::Local(dir) => {
            let db = LocalDb::open_dir(dir)?;
            let clock: Arc<dyn Clock> = Arc::new(SystemClock);
            Ok(Services {
                store: Arc::new(SqliteStateStore::new(db.clone(), clock.clone())),
                audit: Arc::new(SqliteAuditLog::new(db.clone())),
                queue: Arc::new(SqliteQueue::new(
                    db,
                    clock.clone(),
                    QueueSpec::pipeline(settings.max_receives),
                )),
                secrets: Arc::new(LocalSecrets::from_env()),
                clock,
                settings,
            })
        }
        Target::Aws => {
            let aws = loadout::adapters::aws::AwsContext::from_env().await;
            let clock: Arc<dyn Clock> = Arc::new(SystemClock);
            Ok(Services {
                store: Arc::new(aws.state_store(clock.clone())?),
                audit: Arc::new(aws.audit_log()?),
                queue: Arc::new(aws.queue()),
                secrets: Arc::new(aws.secrets(loadout::adapters::aws::DEFAULT_SECRET_TTL)?),
                clock,
                settings,
            })
        }
    }
}
