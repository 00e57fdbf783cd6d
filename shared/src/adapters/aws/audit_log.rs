//! `AuditLog` on a DynamoDB table.
//!
//! Item shape: `pk` = correlation id, `sk` = `record_id` = record id (time-ordered by
//! construction), `user_id` and `app_id` when the record has them (sparse keys of the GSIs
//! `by_user` (user_id, record_id) and `by_app` (app_id, record_id)), and `record`, the whole
//! record as JSON text, which is what reads return. Items are only ever created, never updated.
//! A record with an `expires_at` (refusals) also gets `ttl` (N, epoch seconds), the table's TTL
//! attribute; DynamoDB deletes such items late (within days), so reads skip them once due.

use super::sdk_error::describe;
use crate::domain::AuditRecord;
use crate::ports::audit_log::{AuditError, AuditLog, AuditQuery};
use crate::ports::{Clock, SystemClock};
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;
use std::sync::Arc;

const PK: &str = "pk";
const SK: &str = "sk";
const RECORD_ID: &str = "record_id";
const USER_ID: &str = "user_id";
const APP_ID: &str = "app_id";
const RECORD: &str = "record";
/// The table's TTL attribute (infra/template.yaml and provisioning enable it).
pub const TTL: &str = "ttl";
/// Reads leave out records whose `ttl` has passed.
const LIVE: &str = "attribute_not_exists(#ttl) OR #ttl >= :now";
/// Index names; the provisioning code and infra/template.yaml create them.
pub const BY_USER_INDEX: &str = "by_user";
pub const BY_APP_INDEX: &str = "by_app";

#[derive(Clone)]
pub struct DynamoAuditLog {
    client: Client,
    table: String,
    /// What "expired" is measured against.
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for DynamoAuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynamoAuditLog")
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

impl DynamoAuditLog {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            clock: Arc::new(SystemClock),
        }
    }

    /// Expiry measured on `clock` (tests on simulated time).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    fn now(&self) -> AttributeValue {
        AttributeValue::N(self.clock.now().timestamp().to_string())
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    fn decode(item: &HashMap<String, AttributeValue>) -> Result<AuditRecord, AuditError> {
        let text = item
            .get(RECORD)
            .and_then(|v| v.as_s().ok())
            .ok_or_else(|| AuditError::Decode("item has no record attribute".into()))?;
        serde_json::from_str(text).map_err(|e| AuditError::Decode(e.to_string()))
    }

    async fn stored(&self, record: &AuditRecord) -> Result<Option<AuditRecord>, AuditError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s(record.correlation_id.as_str()))
            .key(SK, s(&record.record_id))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| AuditError::Unavailable(describe("GetItem", &e)))?;
        out.item().map(Self::decode).transpose()
    }

    /// Newest first from one key of the table or of an index, following pages until `limit`.
    async fn newest_first(
        &self,
        index: Option<&str>,
        key_attribute: &str,
        key_value: &str,
        limit: Option<usize>,
    ) -> Result<Vec<AuditRecord>, AuditError> {
        let mut records = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let wanted = limit.map(|l| l.saturating_sub(records.len()));
            if wanted == Some(0) {
                break;
            }
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name(index.map(str::to_owned))
                .key_condition_expression("#k = :k")
                .filter_expression(LIVE)
                .expression_attribute_names("#k", key_attribute)
                .expression_attribute_names("#ttl", TTL)
                .expression_attribute_values(":k", s(key_value))
                .expression_attribute_values(":now", self.now())
                .scan_index_forward(false)
                .set_limit(wanted.map(|w| i32::try_from(w).unwrap_or(i32::MAX)))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| AuditError::Unavailable(describe("Query", &e)))?;
            for item in out.items() {
                records.push(Self::decode(item)?);
            }
            match out.last_evaluated_key() {
                Some(last) if !last.is_empty() => start = Some(last.clone()),
                _ => break,
            }
        }
        Ok(records)
    }

    /// The most recent records of the whole table. There is no key to read them by, so this is a
    /// paged Scan: an admin's occasional call, never one a stage makes per event.
    async fn recent(&self, limit: Option<usize>) -> Result<Vec<AuditRecord>, AuditError> {
        let mut records = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let out = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression(LIVE)
                .expression_attribute_names("#ttl", TTL)
                .expression_attribute_values(":now", self.now())
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| AuditError::Unavailable(describe("Scan", &e)))?;
            for item in out.items() {
                records.push(Self::decode(item)?);
            }
            match out.last_evaluated_key() {
                Some(last) if !last.is_empty() => start = Some(last.clone()),
                _ => break,
            }
        }
        records.sort_by(|a, b| (b.at, &b.record_id).cmp(&(a.at, &a.record_id)));
        if let Some(limit) = limit {
            records.truncate(limit);
        }
        Ok(records)
    }
}

#[async_trait]
impl AuditLog for DynamoAuditLog {
    async fn append(&self, record: &AuditRecord) -> Result<(), AuditError> {
        let json = serde_json::to_string(record).map_err(|e| AuditError::Decode(e.to_string()))?;
        let mut item = HashMap::from([
            (PK.to_owned(), s(record.correlation_id.as_str())),
            (SK.to_owned(), s(&record.record_id)),
            (RECORD_ID.to_owned(), s(&record.record_id)),
            (RECORD.to_owned(), AttributeValue::S(json)),
        ]);
        if let Some(user) = &record.user_id {
            item.insert(USER_ID.to_owned(), s(user.as_str()));
        }
        if let Some(app) = &record.app_id {
            item.insert(APP_ID.to_owned(), s(app.as_str()));
        }
        if let Some(expires) = record.expires_at {
            item.insert(
                TTL.to_owned(),
                AttributeValue::N(expires.timestamp().to_string()),
            );
        }
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => match e.as_service_error() {
                // Written before: a redelivery is fine if it wrote exactly this record.
                Some(se) if se.is_conditional_check_failed_exception() => {
                    match self.stored(record).await? {
                        Some(existing) if existing == *record => Ok(()),
                        _ => Err(AuditError::Conflict(record.record_id.clone())),
                    }
                }
                _ => Err(AuditError::Unavailable(describe("PutItem", &e))),
            },
        }
    }

    async fn query(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, AuditError> {
        let mut records = if let Some(c) = &query.correlation_id {
            self.newest_first(None, PK, c.as_str(), query.limit).await?
        } else if let Some(u) = &query.user_id {
            self.newest_first(Some(BY_USER_INDEX), USER_ID, u.as_str(), query.limit)
                .await?
        } else if let Some(a) = &query.app_id {
            self.newest_first(Some(BY_APP_INDEX), APP_ID, a.as_str(), query.limit)
                .await?
        } else {
            self.recent(query.limit).await?
        };
        records.reverse();
        Ok(records)
    }
}
