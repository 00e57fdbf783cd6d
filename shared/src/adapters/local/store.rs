//! `StateStore` on SQLite, with DynamoDB's semantics: conditional writes, versions, lazy expiry.

use super::db::LocalDb;
use crate::ports::{Clock, Condition, Item, StateStore, StoreError, Write};
use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};
use std::sync::Arc;

pub struct SqliteStateStore {
    db: LocalDb,
    clock: Arc<dyn Clock>,
}

impl SqliteStateStore {
    pub fn new(db: LocalDb, clock: Arc<dyn Clock>) -> Self {
        Self { db, clock }
    }
}

fn unavailable(e: rusqlite::Error) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

/// The live version of an item (expired items count as absent).
fn live_version(
    tx: &rusqlite::Connection,
    pk: &str,
    sk: &str,
    now: i64,
) -> Result<Option<u64>, StoreError> {
    let row: Option<(i64, Option<i64>)> = tx
        .query_row(
            "SELECT ver, expires_at FROM state WHERE pk = ?1 AND sk = ?2",
            params![pk, sk],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(unavailable)?;
    Ok(match row {
        Some((_, Some(exp))) if exp < now => None,
        Some((ver, _)) => Some(ver as u64),
        None => None,
    })
}

fn check(
    tx: &rusqlite::Connection,
    pk: &str,
    sk: &str,
    condition: Condition,
    now: i64,
) -> Result<Option<u64>, StoreError> {
    let current = live_version(tx, pk, sk, now)?;
    let holds = match condition {
        Condition::None => true,
        Condition::NotExists => current.is_none(),
        Condition::Version(v) => current == Some(v),
    };
    if holds {
        Ok(current)
    } else {
        Err(StoreError::ConditionFailed {
            pk: pk.to_owned(),
            sk: sk.to_owned(),
        })
    }
}

fn write_put(
    tx: &rusqlite::Connection,
    pk: &str,
    sk: &str,
    data: &serde_json::Value,
    expires_at: Option<i64>,
    condition: Condition,
    now: i64,
) -> Result<u64, StoreError> {
    check(tx, pk, sk, condition, now)?;
    // The version keeps counting across expiry, as DynamoDB's `if_not_exists(ver)` would.
    let stored: Option<i64> = tx
        .query_row(
            "SELECT ver FROM state WHERE pk = ?1 AND sk = ?2",
            params![pk, sk],
            |r| r.get(0),
        )
        .optional()
        .map_err(unavailable)?;
    let next = stored.unwrap_or(0) as u64 + 1;
    tx.execute(
        "INSERT INTO state (pk, sk, data, ver, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (pk, sk) DO UPDATE SET data = excluded.data, ver = excluded.ver,
         expires_at = excluded.expires_at",
        params![pk, sk, data.to_string(), next as i64, expires_at],
    )
    .map_err(unavailable)?;
    Ok(next)
}

fn write_delete(
    tx: &rusqlite::Connection,
    pk: &str,
    sk: &str,
    condition: Condition,
    now: i64,
) -> Result<(), StoreError> {
    check(tx, pk, sk, condition, now)?;
    tx.execute(
        "DELETE FROM state WHERE pk = ?1 AND sk = ?2",
        params![pk, sk],
    )
    .map_err(unavailable)?;
    Ok(())
}

fn decode_row(
    pk: String,
    sk: String,
    data: String,
    ver: i64,
    expires_at: Option<i64>,
) -> Result<Item, StoreError> {
    let data = serde_json::from_str(&data).map_err(|e| StoreError::Decode {
        pk: pk.clone(),
        sk: sk.clone(),
        message: e.to_string(),
    })?;
    Ok(Item {
        pk,
        sk,
        data,
        version: ver as u64,
        expires_at,
    })
}

#[async_trait]
impl StateStore for SqliteStateStore {
    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        let (pk, sk, now) = (pk.to_owned(), sk.to_owned(), self.clock.now().timestamp());
        self.db
            .with(move |conn| {
                let row = conn
                    .query_row(
                        "SELECT data, ver, expires_at FROM state WHERE pk = ?1 AND sk = ?2",
                        params![pk, sk],
                        |r| {
                            Ok((
                                r.get::<_, String>(0)?,
                                r.get(1)?,
                                r.get::<_, Option<i64>>(2)?,
                            ))
                        },
                    )
                    .optional()
                    .map_err(unavailable)?;
                match row {
                    Some((_, _, Some(exp))) if exp < now => Ok(None),
                    Some((data, ver, exp)) => decode_row(pk, sk, data, ver, exp).map(Some),
                    None => Ok(None),
                }
            })
            .await
    }

    async fn put(
        &self,
        pk: &str,
        sk: &str,
        data: serde_json::Value,
        expires_at: Option<i64>,
        condition: Condition,
    ) -> Result<u64, StoreError> {
        let (pk, sk, now) = (pk.to_owned(), sk.to_owned(), self.clock.now().timestamp());
        self.db
            .with(move |conn| {
                let tx = conn.savepoint().map_err(unavailable)?;
                let version = write_put(&tx, &pk, &sk, &data, expires_at, condition, now)?;
                tx.commit().map_err(unavailable)?;
                Ok(version)
            })
            .await
    }

    async fn delete(&self, pk: &str, sk: &str, condition: Condition) -> Result<(), StoreError> {
        let (pk, sk, now) = (pk.to_owned(), sk.to_owned(), self.clock.now().timestamp());
        self.db
            .with(move |conn| {
                let tx = conn.savepoint().map_err(unavailable)?;
                write_delete(&tx, &pk, &sk, condition, now)?;
                tx.commit().map_err(unavailable)
            })
            .await
    }

    async fn query(&self, pk: &str, sk_prefix: &str) -> Result<Vec<Item>, StoreError> {
        let (pk, prefix, now) = (
            pk.to_owned(),
            sk_prefix.to_owned(),
            self.clock.now().timestamp(),
        );
        self.db
            .with(move |conn| {
                // Byte-wise prefix match (not LIKE, whose wildcards and case folding differ).
                let mut stmt = conn
                    .prepare(
                        "SELECT sk, data, ver, expires_at FROM state
                         WHERE pk = ?1 AND substr(sk, 1, length(?2)) = ?2 ORDER BY sk",
                    )
                    .map_err(unavailable)?;
                let rows = stmt
                    .query_map(params![pk, prefix], |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, i64>(2)?,
                            r.get::<_, Option<i64>>(3)?,
                        ))
                    })
                    .map_err(unavailable)?;
                let mut items = Vec::new();
                for row in rows {
                    let (sk, data, ver, exp) = row.map_err(unavailable)?;
                    if matches!(exp, Some(e) if e < now) {
                        continue;
                    }
                    items.push(decode_row(pk.clone(), sk, data, ver, exp)?);
                }
                Ok(items)
            })
            .await
    }

    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        let now = self.clock.now().timestamp();
        self.db
            .with(move |conn| {
                let tx = conn.savepoint().map_err(unavailable)?;
                for write in &writes {
                    let outcome = match write {
                        Write::Put {
                            pk,
                            sk,
                            data,
                            expires_at,
                            condition,
                        } => write_put(&tx, pk, sk, data, *expires_at, *condition, now).map(|_| ()),
                        Write::Delete { pk, sk, condition } => {
                            write_delete(&tx, pk, sk, *condition, now)
                        }
                        Write::Check { pk, sk, condition } => {
                            check(&tx, pk, sk, *condition, now).map(|_| ())
                        }
                    };
                    if let Err(e) = outcome {
                        // Dropping the transaction rolls back everything written so far.
                        return Err(if e.is_condition_failed() {
                            StoreError::TransactionConflict
                        } else {
                            e
                        });
                    }
                }
                tx.commit().map_err(unavailable)
            })
            .await
    }
}
