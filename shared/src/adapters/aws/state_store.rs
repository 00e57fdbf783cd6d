//! `StateStore` on a DynamoDB table.
//!
//! Item shape: `pk` (S), `sk` (S), `data` (S, the JSON text), `ver` (N) and optionally `ttl` (N,
//! epoch seconds; the table's TTL attribute). DynamoDB deletes expired items lazily (up to days
//! late), so expiry is decided here, against the store's clock: reads skip items whose `ttl` is in
//! the past, and the write conditions treat them as absent.
//!
//! Versions keep counting across an expiry (`if_not_exists(ver, 0) + 1` on the old item): a writer
//! that still holds the version of an expired incarnation can never compare-and-swap the new one.

use super::sdk_error::describe;
use crate::ports::Clock;
use crate::ports::state_store::{Condition, Item, StateStore, StoreError, TextItem, Write};
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, KeysAndAttributes, ReturnValue, TransactWriteItem,
    Update,
};
use std::collections::HashMap;
use std::sync::Arc;

pub(crate) const PK: &str = "pk";
pub(crate) const SK: &str = "sk";
const DATA: &str = "data";
const VER: &str = "ver";
/// The table's TTL attribute.
pub(crate) const TTL: &str = "ttl";
/// Keys per `BatchGetItem` call (DynamoDB's limit).
const BATCH_GET_LIMIT: usize = 100;
/// Calls for one batch's unprocessed keys before giving up (throttled or over 16 MB).
const BATCH_GET_TRIES: u32 = 8;

#[derive(Clone)]
pub struct DynamoStateStore {
    client: Client,
    table: String,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for DynamoStateStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynamoStateStore")
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

/// An update or condition expression with its placeholders, ready to attach to any request.
#[derive(Debug, Default)]
struct Expression {
    text: String,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Expression {
    fn name(&mut self, placeholder: &str, attribute: &str) {
        self.names
            .insert(placeholder.to_owned(), attribute.to_owned());
    }

    fn value(&mut self, placeholder: &str, value: AttributeValue) {
        self.values.insert(placeholder.to_owned(), value);
    }

    fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }

    fn values(&self) -> Option<HashMap<String, AttributeValue>> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn key(pk: &str, sk: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([(PK.to_owned(), s(pk)), (SK.to_owned(), s(sk))])
}

impl DynamoStateStore {
    pub fn new(client: Client, table: impl Into<String>, clock: Arc<dyn Clock>) -> Self {
        Self {
            client,
            table: table.into(),
            clock,
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    fn now(&self) -> i64 {
        self.clock.now().timestamp()
    }

    /// Adds the condition's placeholders to `expr` and returns its text (`None`: unconditional).
    /// An item whose `ttl` has passed counts as absent, whether or not DynamoDB has deleted it.
    fn condition(&self, condition: Condition, expr: &mut Expression) -> Option<String> {
        match condition {
            Condition::None => None,
            Condition::NotExists => {
                expr.name("#pk", PK);
                expr.name("#ttl", TTL);
                expr.value(":now", n(self.now()));
                Some("attribute_not_exists(#pk) OR #ttl < :now".to_owned())
            }
            Condition::Version(v) => {
                expr.name("#ver", VER);
                expr.name("#ttl", TTL);
                expr.value(":now", n(self.now()));
                expr.value(":v", n(v));
                Some("#ver = :v AND (attribute_not_exists(#ttl) OR #ttl >= :now)".to_owned())
            }
        }
    }

    /// The update of a put: new data, version + 1, and the expiry set or removed.
    fn put_update(
        &self,
        data: &serde_json::Value,
        expires_at: Option<i64>,
        condition: Condition,
    ) -> Result<(Expression, Option<String>), StoreError> {
        let mut expr = Expression::default();
        let text = serde_json::to_string(data).map_err(|e| StoreError::Encode(e.to_string()))?;
        expr.name("#data", DATA);
        expr.name("#ver", VER);
        expr.name("#ttl", TTL);
        expr.value(":d", AttributeValue::S(text));
        expr.value(":zero", n(0));
        expr.value(":one", n(1));
        expr.text = "SET #data = :d, #ver = if_not_exists(#ver, :zero) + :one".to_owned();
        match expires_at {
            Some(at) => {
                expr.value(":ttl", n(at));
                expr.text.push_str(", #ttl = :ttl");
            }
            None => expr.text.push_str(" REMOVE #ttl"),
        }
        let condition = self.condition(condition, &mut expr);
        Ok((expr, condition))
    }

    fn is_live(&self, item: &HashMap<String, AttributeValue>) -> bool {
        match item.get(TTL).and_then(|v| v.as_n().ok()) {
            Some(ttl) => ttl.parse::<i64>().map_or(true, |ttl| ttl >= self.now()),
            None => true,
        }
    }

    /// The live items at `keys` by key, read with `BatchGetItem` (100 keys a call; unprocessed
    /// keys asked again with a backoff).
    async fn batch_items(
        &self,
        keys: &[(String, String)],
    ) -> Result<HashMap<(String, String), HashMap<String, AttributeValue>>, StoreError> {
        let mut found = HashMap::new();
        for chunk in keys.chunks(BATCH_GET_LIMIT) {
            // DynamoDB refuses a batch that names a key twice.
            let mut asked: Vec<&(String, String)> = chunk.iter().collect();
            asked.sort();
            asked.dedup();
            let mut pending: Vec<HashMap<String, AttributeValue>> =
                asked.into_iter().map(|(pk, sk)| key(pk, sk)).collect();
            let mut tries = 0;
            while !pending.is_empty() {
                tries += 1;
                if tries > BATCH_GET_TRIES {
                    return Err(StoreError::Unavailable(format!(
                        "BatchGetItem left {} key(s) unprocessed after {BATCH_GET_TRIES} calls",
                        pending.len()
                    )));
                }
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(pending))
                    .consistent_read(true)
                    .build()
                    .map_err(|e| StoreError::Unavailable(format!("BatchGetItem: {e}")))?;
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(|e| StoreError::Unavailable(describe("BatchGetItem", &e)))?;
                for item in out
                    .responses()
                    .and_then(|r| r.get(&self.table))
                    .into_iter()
                    .flatten()
                {
                    let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
                    if let (true, Some(pk), Some(sk)) = (self.is_live(item), text(PK), text(SK)) {
                        found.insert((pk, sk), item.clone());
                    }
                }
                pending = out
                    .unprocessed_keys()
                    .and_then(|u| u.get(&self.table))
                    .map(|k| k.keys().to_vec())
                    .unwrap_or_default();
                if !pending.is_empty() {
                    // Unprocessed keys mean throttling (or a response over 16 MB): back off.
                    tokio::time::sleep(std::time::Duration::from_millis(25 << tries.min(6))).await;
                }
            }
        }
        Ok(found)
    }

    /// The live items of a partition whose sort key starts with `sk_prefix`, every page.
    async fn query_items(
        &self,
        pk: &str,
        sk_prefix: &str,
    ) -> Result<Vec<HashMap<String, AttributeValue>>, StoreError> {
        let mut expr = Expression::default();
        expr.name("#pk", PK);
        expr.value(":pk", s(pk));
        expr.text = "#pk = :pk".to_owned();
        // DynamoDB refuses an empty string as a key value, so "every sort key" has no begins_with.
        if !sk_prefix.is_empty() {
            expr.name("#sk", SK);
            expr.value(":prefix", s(sk_prefix));
            expr.text.push_str(" AND begins_with(#sk, :prefix)");
        }
        let mut items = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression(&expr.text)
                .set_expression_attribute_names(expr.names())
                .set_expression_attribute_values(expr.values())
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| StoreError::Unavailable(describe("Query", &e)))?;
            items.extend(out.items().iter().filter(|i| self.is_live(i)).cloned());
            match out.last_evaluated_key() {
                Some(last) if !last.is_empty() => start = Some(last.clone()),
                _ => break,
            }
        }
        Ok(items)
    }

    /// An item's key, version and data as its stored JSON text.
    fn text_item(&self, item: &HashMap<String, AttributeValue>) -> Result<TextItem, StoreError> {
        let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok());
        let pk = text(PK).cloned().unwrap_or_default();
        let sk = text(SK).cloned().unwrap_or_default();
        let version = item
            .get(VER)
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse::<u64>().ok());
        match (text(DATA), version) {
            (Some(data), Some(version)) => Ok(TextItem {
                text: data.clone(),
                pk,
                sk,
                version,
            }),
            _ => Err(StoreError::Decode {
                pk,
                sk,
                message: "no data or no numeric ver attribute".into(),
            }),
        }
    }

    fn decode(&self, item: &HashMap<String, AttributeValue>) -> Result<Item, StoreError> {
        let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok());
        let pk = text(PK).cloned().unwrap_or_default();
        let sk = text(SK).cloned().unwrap_or_default();
        let bad = |message: String| StoreError::Decode {
            pk: pk.clone(),
            sk: sk.clone(),
            message,
        };
        let data = text(DATA).ok_or_else(|| bad("no data attribute".into()))?;
        let data = serde_json::from_str(data).map_err(|e| bad(e.to_string()))?;
        let version = item
            .get(VER)
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or_else(|| bad("no numeric ver attribute".into()))?;
        let expires_at = match item.get(TTL) {
            None => None,
            Some(v) => Some(
                v.as_n()
                    .ok()
                    .and_then(|v| v.parse::<i64>().ok())
                    .ok_or_else(|| bad("ttl is not a number".into()))?,
            ),
        };
        Ok(Item {
            pk,
            sk,
            data,
            version,
            expires_at,
        })
    }

    fn transact_item(&self, write: Write) -> Result<TransactWriteItem, StoreError> {
        let built = |e: aws_sdk_dynamodb::error::BuildError| StoreError::Encode(e.to_string());
        Ok(match write {
            Write::Put {
                pk,
                sk,
                data,
                expires_at,
                condition,
            } => {
                let (expr, condition) = self.put_update(&data, expires_at, condition)?;
                let update = Update::builder()
                    .table_name(&self.table)
                    .set_key(Some(key(&pk, &sk)))
                    .update_expression(&expr.text)
                    .set_condition_expression(condition)
                    .set_expression_attribute_names(expr.names())
                    .set_expression_attribute_values(expr.values())
                    .build()
                    .map_err(built)?;
                TransactWriteItem::builder().update(update).build()
            }
            Write::Delete { pk, sk, condition } => {
                let mut expr = Expression::default();
                let condition = self.condition(condition, &mut expr);
                let delete = Delete::builder()
                    .table_name(&self.table)
                    .set_key(Some(key(&pk, &sk)))
                    .set_condition_expression(condition)
                    .set_expression_attribute_names(expr.names())
                    .set_expression_attribute_values(expr.values())
                    .build()
                    .map_err(built)?;
                TransactWriteItem::builder().delete(delete).build()
            }
            Write::Check { pk, sk, condition } => {
                let mut expr = Expression::default();
                // A check without a condition holds trivially; DynamoDB still wants an expression.
                let condition = self.condition(condition, &mut expr).unwrap_or_else(|| {
                    expr.name("#pk", PK);
                    "attribute_exists(#pk) OR attribute_not_exists(#pk)".to_owned()
                });
                let check = ConditionCheck::builder()
                    .table_name(&self.table)
                    .set_key(Some(key(&pk, &sk)))
                    .condition_expression(condition)
                    .set_expression_attribute_names(expr.names())
                    .set_expression_attribute_values(expr.values())
                    .build()
                    .map_err(built)?;
                TransactWriteItem::builder().condition_check(check).build()
            }
        })
    }
}

/// The kind of partition a key is in (`user`, `pending`, ...), for spans: which reads a stage
/// makes, without the user or app the key names.
fn partition_kind(pk: &str) -> &str {
    pk.split('#').next().unwrap_or_default()
}

#[async_trait]
impl StateStore for DynamoStateStore {
    #[tracing::instrument(level = "debug", name = "dynamodb.get", skip_all, fields(partition = partition_kind(pk)))]
    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::Unavailable(describe("GetItem", &e)))?;
        match out.item() {
            Some(item) if self.is_live(item) => self.decode(item).map(Some),
            _ => Ok(None),
        }
    }

    #[tracing::instrument(level = "debug", name = "dynamodb.get_many", skip_all)]
    async fn get_many(&self, keys: &[(String, String)]) -> Result<Vec<Option<Item>>, StoreError> {
        let found = self.batch_items(keys).await?;
        keys.iter()
            .map(|k| found.get(k).map(|item| self.decode(item)).transpose())
            .collect()
    }

    #[tracing::instrument(level = "debug", name = "dynamodb.get_many", skip_all)]
    async fn get_many_text(
        &self,
        keys: &[(String, String)],
    ) -> Result<Vec<Option<TextItem>>, StoreError> {
        let found = self.batch_items(keys).await?;
        keys.iter()
            .map(|k| found.get(k).map(|item| self.text_item(item)).transpose())
            .collect()
    }

    #[tracing::instrument(level = "debug", name = "dynamodb.put", skip_all, fields(partition = partition_kind(pk)))]
    async fn put(
        &self,
        pk: &str,
        sk: &str,
        data: serde_json::Value,
        expires_at: Option<i64>,
        condition: Condition,
    ) -> Result<u64, StoreError> {
        let (expr, condition) = self.put_update(&data, expires_at, condition)?;
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .update_expression(&expr.text)
            .set_condition_expression(condition)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|e| match e.as_service_error() {
                Some(se) if se.is_conditional_check_failed_exception() => {
                    StoreError::ConditionFailed {
                        pk: pk.to_owned(),
                        sk: sk.to_owned(),
                    }
                }
                _ => StoreError::Unavailable(describe("UpdateItem", &e)),
            })?;
        out.attributes()
            .and_then(|a| a.get(VER))
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or_else(|| StoreError::Decode {
                pk: pk.to_owned(),
                sk: sk.to_owned(),
                message: "UpdateItem returned no new version".into(),
            })
    }

    #[tracing::instrument(level = "debug", name = "dynamodb.delete", skip_all, fields(partition = partition_kind(pk)))]
    async fn delete(&self, pk: &str, sk: &str, condition: Condition) -> Result<(), StoreError> {
        let mut expr = Expression::default();
        let condition = self.condition(condition, &mut expr);
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .set_condition_expression(condition)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .send()
            .await
            .map_err(|e| match e.as_service_error() {
                Some(se) if se.is_conditional_check_failed_exception() => {
                    StoreError::ConditionFailed {
                        pk: pk.to_owned(),
                        sk: sk.to_owned(),
                    }
                }
                _ => StoreError::Unavailable(describe("DeleteItem", &e)),
            })?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", name = "dynamodb.query", skip_all, fields(partition = partition_kind(pk)))]
    async fn query(&self, pk: &str, sk_prefix: &str) -> Result<Vec<Item>, StoreError> {
        let mut items = self
            .query_items(pk, sk_prefix)
            .await?
            .iter()
            .map(|i| self.decode(i))
            .collect::<Result<Vec<_>, _>>()?;
        // DynamoDB already returns sort-key (byte) order; sorting keeps the promise explicit.
        items.sort_by(|a, b| a.sk.cmp(&b.sk));
        Ok(items)
    }

    #[tracing::instrument(level = "debug", name = "dynamodb.query", skip_all, fields(partition = partition_kind(pk)))]
    async fn query_text(&self, pk: &str, sk_prefix: &str) -> Result<Vec<TextItem>, StoreError> {
        let mut items = self
            .query_items(pk, sk_prefix)
            .await?
            .iter()
            .map(|i| self.text_item(i))
            .collect::<Result<Vec<_>, _>>()?;
        items.sort_by(|a, b| a.sk.cmp(&b.sk));
        Ok(items)
    }

    #[tracing::instrument(level = "debug", name = "dynamodb.transact", skip_all)]
    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        if writes.is_empty() {
            return Ok(());
        }
        let items = writes
            .into_iter()
            .map(|w| self.transact_item(w))
            .collect::<Result<Vec<_>, _>>()?;
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => Err(match e.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => {
                    let reasons: Vec<&str> = cancelled
                        .cancellation_reasons()
                        .iter()
                        .filter_map(|r| r.code())
                        .collect();
                    if reasons.contains(&"ConditionalCheckFailed") {
                        StoreError::TransactionConflict
                    } else {
                        // TransactionConflict (a concurrent transaction), throttling, ...: transient.
                        StoreError::Unavailable(format!(
                            "TransactWriteItems cancelled: {}",
                            reasons.join(", ")
                        ))
                    }
                }
                _ => StoreError::Unavailable(describe("TransactWriteItems", &e)),
            }),
        }
    }
}
