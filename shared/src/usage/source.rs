//! The port: a usage source reads observations for a set of apps and says what the read
//! covered.

use super::{TrackedApp, UsageError};
use crate::domain::{AppId, UserId};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// What a source's observations can prove.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    /// The app was used (came to the foreground, was launched): Intelligence, `usage.csv`.
    Foreground,
    /// The app is installed or not; says nothing about use: UEM device apps.
    Installed,
}

/// A user as the source names them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ReportedUser {
    /// Loadout's own user id (`usage.csv`).
    Id(UserId),
    /// A UEM enrollment user name or e-mail (Intelligence, UEM): mapped by a `UserMapper`.
    Name(String),
}

/// One observation of one user and app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageObservation {
    pub user: ReportedUser,
    pub app: AppId,
    /// The last time the app was in the foreground, when the source says.
    pub last_used: Option<DateTime<Utc>>,
    /// Launches (foreground events) this observation counts.
    pub launches: u32,
    /// Installed on any of the user's devices, when the source says.
    pub installed: Option<bool>,
}

/// What a read covered: these apps, from `from` to `to`, read at `read_at`. A user and app
/// with no observation inside a `Foreground` coverage had no use in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coverage {
    pub source: String,
    pub signal: Signal,
    pub apps: BTreeSet<AppId>,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub read_at: DateTime<Utc>,
}

/// What to read: the apps (with the names sources use for them) and the range (sources that
/// cannot choose a range report their own in the coverage).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageRequest {
    pub apps: Vec<TrackedApp>,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// A read under way: the coverage it will have if the stream ends without error, and the
/// observations, one at a time.
pub struct UsageRead {
    pub coverage: Coverage,
    pub observations: BoxStream<'static, Result<UsageObservation, UsageError>>,
}

#[async_trait]
pub trait UsageSource: Send + Sync {
    /// The source's name in freshness records and audit (`intelligence`, `uem-device-apps`,
    /// `usage-file`).
    fn name(&self) -> &str;

    fn signal(&self) -> Signal;

    async fn read(&self, request: &UsageRequest) -> Result<UsageRead, UsageError>;
}
