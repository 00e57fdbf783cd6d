//! `AuditLog` on SQLite: insert-only, with lookups by correlation id, user and app.

use super::db::LocalDb;
use crate::domain::AuditRecord;
use crate::ports::{AuditError, AuditLog, AuditQuery};
use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

pub struct SqliteAuditLog {
    db: LocalDb,
}

impl SqliteAuditLog {
    pub fn new(db: LocalDb) -> Self {
        Self { db }
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
        self.db
            .with(move |conn| {
                let inserted = conn
                    .execute(
                        "INSERT INTO audit (record_id, correlation_id, user_id, app_id, record)
                         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (record_id) DO NOTHING",
                        params![
                            record.record_id,
                            record.correlation_id.as_str(),
                            record.user_id.as_ref().map(|u| u.as_str().to_owned()),
                            record.app_id.as_ref().map(|a| a.as_str().to_owned()),
                            json
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
        self.db
            .with(move |conn| {
                let limit = query.limit.map(|l| l as i64).unwrap_or(-1);
                let (sql, key): (&str, Option<String>) = if let Some(c) = &query.correlation_id {
                    (
                        "SELECT record FROM audit WHERE correlation_id = ?1 ORDER BY record_id DESC LIMIT ?2",
                        Some(c.as_str().to_owned()),
                    )
                } else if let Some(u) = &query.user_id {
                    (
                        "SELECT record FROM audit WHERE user_id = ?1 ORDER BY record_id DESC LIMIT ?2",
                        Some(u.as_str().to_owned()),
                    )
                } else if let Some(a) = &query.app_id {
                    (
                        "SELECT record FROM audit WHERE app_id = ?1 ORDER BY record_id DESC LIMIT ?2",
                        Some(a.as_str().to_owned()),
                    )
                } else {
                    (
                        "SELECT record FROM audit WHERE ?1 IS NULL ORDER BY record_id DESC LIMIT ?2",
                        None,
                    )
                };
                let mut stmt = conn.prepare(sql).map_err(unavailable)?;
                let rows = stmt
                    .query_map(params![key, limit], |r| r.get::<_, String>(0))
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
