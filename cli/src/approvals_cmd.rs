//! `loadout approvals [--state pending|approved|rejected|expired|error] [--json]`: the ServiceNow
//! approval requests of a local-mode data directory, or of the AWS state table (`--aws`), with
//! their age and ticket. Ids only: the requester's name and e-mail stay in the record.

use crate::output::table;
use chrono::{DateTime, Utc};
use loadout::approvals::{ApprovalRecord, StateFilter};
use loadout::ports::{Clock, StateStore, SystemClock};
use loadout::stages::approve::age_days;
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Arc;

/// Where the approvals are read from.
pub enum Source {
    Local(PathBuf),
    /// The table named by `LOADOUT_STATE_TABLE` (credentials and region from the usual AWS
    /// environment).
    Aws,
}

#[derive(Debug, thiserror::Error)]
pub enum ApprovalsError {
    #[error("no Loadout data in {0} (start `loadout local` first, or pass --data-dir)")]
    NoData(String),
    #[error("cannot open the local data: {0}")]
    Local(#[source] loadout::adapters::local::LocalDbError),
    #[error("AWS: {0}")]
    Aws(#[source] loadout::adapters::aws::AwsConfigError),
    #[error("reading approvals: {0}")]
    Store(#[source] loadout::ports::StoreError),
    #[error("rendering JSON: {0}")]
    Json(#[source] serde_json::Error),
}

/// One line of the listing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApprovalLine {
    pub request_id: String,
    pub state: &'static str,
    pub user_id: String,
    pub app_id: String,
    pub device_id: String,
    pub ticket: Option<String>,
    pub ticket_url: Option<String>,
    pub age_days: i64,
    pub created_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

impl ApprovalLine {
    pub fn of(record: &ApprovalRecord, now: DateTime<Utc>) -> Self {
        Self {
            request_id: record.request_id.clone(),
            state: record.state.as_str(),
            user_id: record.user_id().to_string(),
            app_id: record.app_id().to_string(),
            device_id: record.device_id.clone(),
            ticket: record.ticket.as_ref().map(|t| t.number.clone()),
            ticket_url: record.ticket.as_ref().map(|t| t.url.clone()),
            age_days: age_days(record.created_at, now),
            created_at: record.created_at,
            due_at: record.due_at,
            decided_by: record.decided_by.clone(),
            decided_at: record.decided_at,
            last_error: record.last_error.clone(),
        }
    }
}

async fn store(source: Source) -> Result<Box<dyn StateStore>, ApprovalsError> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    match source {
        Source::Local(dir) => {
            if !dir.join("loadout.db").exists() {
                return Err(ApprovalsError::NoData(dir.display().to_string()));
            }
            let db =
                loadout::adapters::local::LocalDb::open_dir(&dir).map_err(ApprovalsError::Local)?;
            Ok(Box::new(loadout::adapters::local::SqliteStateStore::new(
                db, clock,
            )))
        }
        Source::Aws => {
            let aws = loadout::adapters::aws::AwsContext::from_env().await;
            Ok(Box::new(
                aws.state_store(clock).map_err(ApprovalsError::Aws)?,
            ))
        }
    }
}

/// The approvals in `filter`'s states (all without one), oldest first.
pub async fn lines(
    source: Source,
    filter: Option<StateFilter>,
) -> Result<Vec<ApprovalLine>, ApprovalsError> {
    let store = store(source).await?;
    let now = Utc::now();
    Ok(loadout::approvals::list(store.as_ref(), filter)
        .await
        .map_err(ApprovalsError::Store)?
        .iter()
        .map(|r| ApprovalLine::of(r, now))
        .collect())
}

/// The listing as a table, or as JSON.
pub fn render(lines: &[ApprovalLine], json: bool) -> Result<String, ApprovalsError> {
    if json {
        return serde_json::to_string_pretty(lines).map_err(ApprovalsError::Json);
    }
    if lines.is_empty() {
        return Ok("No approval requests.\n".to_owned());
    }
    let rows: Vec<Vec<String>> = lines
        .iter()
        .map(|l| {
            vec![
                l.request_id.clone(),
                l.state.to_owned(),
                l.user_id.clone(),
                l.app_id.clone(),
                l.device_id.clone(),
                l.ticket.clone().unwrap_or_else(|| "-".into()),
                format!("{}d", l.age_days),
                l.due_at.format("%Y-%m-%d").to_string(),
                l.decided_by.clone().unwrap_or_default(),
            ]
        })
        .collect();
    Ok(table(
        &[
            "request",
            "state",
            "user",
            "app",
            "device",
            "ticket",
            "age",
            "due",
            "decided by",
        ],
        &rows,
    ))
}
