//! `AuditLog` on SQLite: insert-only, with lookups by correlation id, user and app. Records with
//! an `expires_at` (refusals) are not read once it has passed, and are deleted when the next
//! such record is written.

use super::db::LocalDb;
use crate::domain::AuditRecord;
use crate::ports::{AuditError, AuditLog, AuditQuery, Clock, SystemClock};
use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};
use std::sync::Arc;

pub struct SqliteAuditLog {
    db: LocalDb,
    /// What "expired" is measured against.
    clock: Arc<dyn Clock>,
}

impl SqliteAuditLog {
    pub fn new(db: LocalDb) -> Self {
        Self {
            db,
            clock: Arc::new(SystemClock),
        }
    }

    /// Expiry measured on `clock` (tests on simulated time).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
}

fn unavailable(e: rusqlite::Error) -> AuditError {
    AuditError::Unavailable(e.to_string())
}

#[async_trait]
impl AuditLog for SqliteAuditLog {
    async fn append(&self, record: &AuditRecord) -> Result<(), AuditError> {
        let json = serde_json::to_string(record).map_err(|e| AuditError::Decode(e.to_string()))?;
        let record = record.clone();
        let now = self.clock.now().timestamp();
        self.db
            .with(move |conn| {
                let expires_at = record.expires_at.map(|t| t.timestamp());
                if expires_at.is_some() {
                    // Records that expire come in floods (refusals): each clears the lapsed ones.
                    conn.execute(
                        "DELETE FROM audit WHERE expires_at IS NOT NULL AND expires_at < ?1",
                        params![now],
                    )
                    .map_err(unavailable)?;
                }
                let inserted = conn
                    .execute(
                        "INSERT INTO audit (record_id, correlation_id, user_id, app_id, record, expires_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (record_id) DO NOTHING",
                        params![
                            record.record_id,
                            record.correlation_id.as_str(),
                            record.user_id.as_ref().map(|u| u.as_str().to_owned()),
                            record.app_id.as_ref().map(|a| a.as_str().to_owned()),
                            json,
                            expires_at
                        ],
                    )
                    .map_err(unavailable)?;
                if inserted == 1 {
                    return Ok(());
                }
                let existing: Option<String> = conn
                    .query_row(
                        "SELECT record FROM audit WHERE record_id = ?1",
                        params![record.record_id],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(unavailable)?;
                let same = existing
                    .and_then(|text| serde_json::from_str::<AuditRecord>(&text).ok())
                    .is_some_and(|stored| stored == record);
                if same {
                    Ok(())
                } else {
                    Err(AuditError::Conflict(record.record_id))
                }
            })
            .await
    }

    async fn query(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, AuditError> {
        let query = query.clone();
        let now = self.clock.now().timestamp();
        self.db
            .with(move |conn| {
                let limit = query.limit.map(|l| l as i64).unwrap_or(-1);
                let (sql, key): (&str, Option<String>) = if let Some(c) = &query.correlation_id {
                    (
                        "SELECT record FROM audit WHERE correlation_id = ?1
                         AND (expires_at IS NULL OR expires_at >= ?3)
                         ORDER BY record_id DESC LIMIT ?2",
                        Some(c.as_str().to_owned()),
                    )
                } else if let Some(u) = &query.user_id {
                    (
                        "SELECT record FROM audit WHERE user_id = ?1
                         AND (expires_at IS NULL OR expires_at >= ?3)
                         ORDER BY record_id DESC LIMIT ?2",
                        Some(u.as_str().to_owned()),
                    )
                } else if let Some(a) = &query.app_id {
                    (
                        "SELECT record FROM audit WHERE app_id = ?1
                         AND (expires_at IS NULL OR expires_at >= ?3)
                         ORDER BY record_id DESC LIMIT ?2",
                        Some(a.as_str().to_owned()),
                    )
                } else {
                    (
                        "SELECT record FROM audit WHERE ?1 IS NULL
                         AND (expires_at IS NULL OR expires_at >= ?3)
                         ORDER BY record_id DESC LIMIT ?2",
                        None,
                    )
                };
                let mut stmt = conn.prepare(sql).map_err(unavailable)?;
                let rows = stmt
                    .query_map(params![key, limit, now], |r| r.get::<_, String>(0))
                    .map_err(unavailable)?;
                let mut out = Vec::new();
                for row in rows {
                    let text = row.map_err(unavailable)?;
                    out.push(
                        serde_json::from_str::<AuditRecord>(&text)
                            .map_err(|e| AuditError::Decode(e.to_string()))?,
                    );
                }
                // Newest were selected first (for the limit); callers read oldest first.
                out.reverse();
                Ok(out)
            })
            .await
    }
}
