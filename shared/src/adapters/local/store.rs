//! `StateStore` on SQLite, with DynamoDB's semantics: conditional writes, versions, lazy expiry.

use super::db::LocalDb;
use crate::ports::{Clock, Condition, Item, StateStore, StoreError, TextItem, Write};
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

/// The stored version and expiry of an item, expired or not.
fn stored_row(
    tx: &rusqlite::Connection,
    pk: &str,
    sk: &str,
) -> Result<Option<(i64, Option<i64>)>, StoreError> {
    // Cached statements: a fleet-sized run makes hundreds of thousands of these calls.
    tx.prepare_cached("SELECT ver, expires_at FROM state WHERE pk = ?1 AND sk = ?2")
        .and_then(|mut stmt| {
            stmt.query_row(params![pk, sk], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
        })
        .map_err(unavailable)
}

/// The live version of a stored row (expired items count as absent).
fn live(row: Option<(i64, Option<i64>)>, now: i64) -> Option<u64> {
    match row {
        Some((_, Some(exp))) if exp < now => None,
        Some((ver, _)) => Some(ver as u64),
        None => None,
    }
}

fn holds(
    current: Option<u64>,
    pk: &str,
    sk: &str,
    condition: Condition,
) -> Result<Option<u64>, StoreError> {
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

fn check(
    tx: &rusqlite::Connection,
    pk: &str,
    sk: &str,
    condition: Condition,
    now: i64,
) -> Result<Option<u64>, StoreError> {
    holds(live(stored_row(tx, pk, sk)?, now), pk, sk, condition)
}

/// `data` is the item's JSON text, serialized by the caller (off the database thread).
fn write_put(
    tx: &rusqlite::Connection,
    pk: &str,
    sk: &str,
    data: &str,
    expires_at: Option<i64>,
    condition: Condition,
    now: i64,
) -> Result<u64, StoreError> {
    let stored = stored_row(tx, pk, sk)?;
    holds(live(stored, now), pk, sk, condition)?;
    // The version keeps counting across expiry, as DynamoDB's `if_not_exists(ver)` would.
    let next = stored.map_or(0, |(ver, _)| ver) as u64 + 1;
    tx.prepare_cached(
        "INSERT INTO state (pk, sk, data, ver, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (pk, sk) DO UPDATE SET data = excluded.data, ver = excluded.ver,
         expires_at = excluded.expires_at",
    )
    .and_then(|mut stmt| stmt.execute(params![pk, sk, data, next as i64, expires_at]))
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

/// A stored row: the JSON text, the version, the expiry.
type Row = (String, i64, Option<i64>);

/// The least string above every string that starts with `prefix` (in SQLite's byte order, which
/// for UTF-8 is code point order): the prefix with its last character replaced by the next one.
/// `None` when there is no such string (an empty prefix, or one of only U+10FFFF).
fn prefix_upper_bound(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = match last as u32 {
            0xD7FF => Some('\u{E000}'),
            n => char::from_u32(n + 1),
        };
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

impl SqliteStateStore {
    /// The live rows of a partition whose sort key starts with `prefix`, in sort-key order: the
    /// sort key, then a [`Row`].
    async fn partition_rows(
        &self,
        pk: &str,
        prefix: &str,
    ) -> Result<Vec<(String, String, i64, Option<i64>)>, StoreError> {
        let (pk, prefix, now) = (
            pk.to_owned(),
            prefix.to_owned(),
            self.clock.now().timestamp(),
        );
        let upper = prefix_upper_bound(&prefix);
        self.db
            .with(move |conn| {
                // A range on the primary key, so SQLite reads only the prefix's rows (a prefix
                // match alone scans the whole partition: 100,000 rows for one user's devices).
                // The prefix match stays, byte-wise (not LIKE, whose wildcards and case folding
                // differ), so the range only has to be wide enough.
                let mut stmt = conn
                    .prepare_cached(match upper {
                        Some(_) => {
                            "SELECT sk, data, ver, expires_at FROM state
                             WHERE pk = ?1 AND sk >= ?2 AND sk < ?3
                               AND substr(sk, 1, length(?2)) = ?2 ORDER BY sk"
                        }
                        None => {
                            "SELECT sk, data, ver, expires_at FROM state
                             WHERE pk = ?1 AND sk >= ?2 AND ?3 IS NULL
                               AND substr(sk, 1, length(?2)) = ?2 ORDER BY sk"
                        }
                    })
                    .map_err(unavailable)?;
                let rows = stmt
                    .query_map(params![pk, prefix, upper], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                    })
                    .map_err(unavailable)?;
                let mut live = Vec::new();
                for row in rows {
                    let row: (String, String, i64, Option<i64>) = row.map_err(unavailable)?;
                    if !matches!(row.3, Some(e) if e < now) {
                        live.push(row);
                    }
                }
                Ok::<_, StoreError>(live)
            })
            .await
    }

    /// The live rows at `keys`, in order, in one call to the database thread.
    async fn rows_of(&self, keys: &[(String, String)]) -> Result<Vec<Option<Row>>, StoreError> {
        let (asked, now) = (keys.to_vec(), self.clock.now().timestamp());
        self.db
            .with(move |conn| {
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT data, ver, expires_at FROM state WHERE pk = ?1 AND sk = ?2",
                    )
                    .map_err(unavailable)?;
                let mut rows = Vec::with_capacity(asked.len());
                for (pk, sk) in asked {
                    let row: Option<Row> = stmt
                        .query_row(params![pk, sk], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                        .optional()
                        .map_err(unavailable)?;
                    rows.push(row.filter(|(_, _, exp)| !matches!(exp, Some(e) if *e < now)));
                }
                Ok::<_, StoreError>(rows)
            })
            .await
    }
}

#[async_trait]
impl StateStore for SqliteStateStore {
    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        let (key, now) = ((pk.to_owned(), sk.to_owned()), self.clock.now().timestamp());
        let row = self
            .db
            .with(move |conn| {
                let (pk, sk) = key;
                conn.prepare_cached(
                    "SELECT data, ver, expires_at FROM state WHERE pk = ?1 AND sk = ?2",
                )
                .and_then(|mut stmt| {
                    stmt.query_row(params![pk, sk], |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, i64>(1)?,
                            r.get::<_, Option<i64>>(2)?,
                        ))
                    })
                    .optional()
                })
                .map_err(unavailable)
            })
            .await?;
        // Decoded here, not on the database thread: that thread serves every caller in turn,
        // while decoding runs on the callers' own threads side by side.
        match row {
            Some((_, _, Some(exp))) if exp < now => Ok(None),
            Some((data, ver, exp)) => {
                decode_row(pk.to_owned(), sk.to_owned(), data, ver, exp).map(Some)
            }
            None => Ok(None),
        }
    }

    async fn get_many(&self, keys: &[(String, String)]) -> Result<Vec<Option<Item>>, StoreError> {
        let rows = self.rows_of(keys).await?;
        keys.iter()
            .zip(rows)
            .map(|((pk, sk), row)| {
                row.map(|(data, ver, exp)| decode_row(pk.clone(), sk.clone(), data, ver, exp))
                    .transpose()
            })
            .collect()
    }

    async fn get_many_text(
        &self,
        keys: &[(String, String)],
    ) -> Result<Vec<Option<TextItem>>, StoreError> {
        let rows = self.rows_of(keys).await?;
        Ok(keys
            .iter()
            .zip(rows)
            .map(|((pk, sk), row)| {
                row.map(|(text, ver, _)| TextItem {
                    pk: pk.clone(),
                    sk: sk.clone(),
                    text,
                    version: ver as u64,
                })
            })
            .collect())
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
        let data = data.to_string();
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
        // Decoded off the database thread, as in `get`.
        self.partition_rows(pk, sk_prefix)
            .await?
            .into_iter()
            .map(|(sk, data, ver, exp)| decode_row(pk.to_owned(), sk, data, ver, exp))
            .collect()
    }

    async fn query_text(&self, pk: &str, sk_prefix: &str) -> Result<Vec<TextItem>, StoreError> {
        Ok(self
            .partition_rows(pk, sk_prefix)
            .await?
            .into_iter()
            .map(|(sk, text, ver, _)| TextItem {
                pk: pk.to_owned(),
                sk,
                text,
                version: ver as u64,
            })
            .collect())
    }

    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        let now = self.clock.now().timestamp();
        // Serialized here so the database thread only writes.
        let texts: Vec<Option<String>> = writes
            .iter()
            .map(|w| match w {
                Write::Put { data, .. } => Some(data.to_string()),
                _ => None,
            })
            .collect();
        self.db
            .with(move |conn| {
                let tx = conn.savepoint().map_err(unavailable)?;
                for (write, text) in writes.iter().zip(&texts) {
                    let outcome = match write {
                        Write::Put {
                            pk,
                            sk,
                            expires_at,
                            condition,
                            ..
                        } => write_put(
                            &tx,
                            pk,
                            sk,
                            text.as_deref().unwrap_or("null"),
                            *expires_at,
                            *condition,
                            now,
                        )
                        .map(|_| ()),
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

#[cfg(test)]
mod bound_tests {
    use super::prefix_upper_bound;

    #[test]
    fn the_bound_is_above_every_string_with_the_prefix_and_below_the_next_ones() {
        assert_eq!(prefix_upper_bound(""), None);
        assert_eq!(prefix_upper_bound("dev#ann#").as_deref(), Some("dev#ann$"));
        assert_eq!(
            prefix_upper_bound("a\u{D7FF}").as_deref(),
            Some("a\u{E000}")
        );
        assert_eq!(prefix_upper_bound("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_upper_bound("\u{10FFFF}"), None);
        for prefix in ["dev#ann#", "é", "z\u{7F}", "a\u{D7FF}"] {
            let bound = prefix_upper_bound(prefix).unwrap();
            for tail in ["", "\u{0}", "zzz", "\u{10FFFF}\u{10FFFF}"] {
                let key = format!("{prefix}{tail}");
                assert!(key.as_bytes() < bound.as_bytes(), "{key:?} < {bound:?}");
            }
        }
    }
}
