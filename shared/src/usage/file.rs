//! The local-mode adapter: `usage.csv` of DESIGN.md (`user_id,app_id,launches_30d,last_used_at`,
//! RFC 3339), read row by row from disk. The file is a 30-day summary as of its time, so its
//! coverage is the 30 days before it was written; an app of the request with no row for a user
//! was not used by them in those days.

use super::{
    Coverage, ReportedUser, Signal, UsageError, UsageObservation, UsageRead, UsageRequest,
    UsageSource,
};
use crate::domain::{AppId, UserId};
use crate::ports::Clock;
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use futures::StreamExt;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

pub struct UsageFile {
    path: PathBuf,
    clock: Arc<dyn Clock>,
}

impl UsageFile {
    pub const NAME: &'static str = "usage-file";

    pub fn new(path: impl Into<PathBuf>, clock: Arc<dyn Clock>) -> Self {
        Self {
            path: path.into(),
            clock,
        }
    }
}

const HEADER: [&str; 4] = ["user_id", "app_id", "launches_30d", "last_used_at"];

fn observation(path: &str, record: &csv::StringRecord) -> Result<UsageObservation, UsageError> {
    let line = record.position().map(|p| p.line()).unwrap_or(0);
    let invalid = |message: String| UsageError::Invalid {
        path: path.to_owned(),
        line,
        message,
    };
    let field = |i: usize| record.get(i).map(str::trim).unwrap_or_default();
    let user = field(0);
    let app = field(1);
    if user.is_empty() || app.is_empty() {
        return Err(invalid("user_id and app_id are required".into()));
    }
    let launches: u32 = field(2)
        .parse()
        .map_err(|_| invalid(format!("launches_30d {:?} is not a whole number", field(2))))?;
    let last_used = match field(3) {
        "" => None,
        s => Some(
            DateTime::parse_from_rfc3339(s)
                .map_err(|e| invalid(format!("last_used_at {s:?} is not RFC 3339: {e}")))?
                .with_timezone(&Utc),
        ),
    };
    Ok(UsageObservation {
        user: ReportedUser::Id(UserId::new(user)),
        app: AppId::new(app),
        last_used,
        launches,
        installed: None,
    })
}

#[async_trait]
impl UsageSource for UsageFile {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn signal(&self) -> Signal {
        Signal::Foreground
    }

    async fn read(&self, request: &UsageRequest) -> Result<UsageRead, UsageError> {
        let path = self.path.display().to_string();
        let file_error = |source: csv::Error| UsageError::File {
            path: path.clone(),
            source,
        };
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_path(&self.path)
            .map_err(file_error)?;
        let headers = reader.headers().map_err(file_error)?.clone();
        if headers.iter().take(4).ne(HEADER) {
            return Err(UsageError::Invalid {
                path,
                line: 1,
                message: format!("the header must be {}", HEADER.join(",")),
            });
        }
        // The file's time: when it was last written, or now if the file system cannot say.
        let written: Option<DateTime<Utc>> = std::fs::metadata(&self.path)
            .and_then(|m| m.modified())
            .ok()
            .map(DateTime::<Utc>::from);
        let as_of = written
            .unwrap_or_else(|| self.clock.now())
            .min(self.clock.now());
        let wanted: BTreeSet<AppId> = request.apps.iter().map(|a| a.app.clone()).collect();
        let filter = wanted.clone();
        // Local files are small and on local disk: reading them synchronously is fine here.
        let observations = futures::stream::iter(reader.into_records())
            .map(move |record| {
                let record = record.map_err(|source| UsageError::File {
                    path: path.clone(),
                    source,
                })?;
                observation(&path, &record)
            })
            .filter(move |o| {
                let keep = o.as_ref().map_or(true, |o| filter.contains(&o.app));
                futures::future::ready(keep)
            })
            .boxed();
        Ok(UsageRead {
            coverage: Coverage {
                source: Self::NAME.into(),
                signal: Signal::Foreground,
                apps: wanted,
                from: as_of - Duration::days(30),
                to: as_of,
                read_at: self.clock.now(),
            },
            observations,
        })
    }
}
