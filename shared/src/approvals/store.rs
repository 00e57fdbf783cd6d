//! Approval records in the state store. The record moves only by compare-and-swap on its
//! version; its copy in the by-state index moves in the same transaction, so a listing never
//! disagrees with the record. Key layouts are in `keys.rs`.

use super::record::{ApprovalRecord, TargetPointer};
use super::state::{ApprovalState, StateFilter};
use crate::domain::{AppId, UserId};
use crate::keys;
use crate::ports::{Condition, StateStore, StateStoreExt, StoreError, Write};

/// How many times a change is re-read and re-tried when another writer got there first.
const CAS_ATTEMPTS: usize = 8;

pub async fn load(
    store: &dyn StateStore,
    request_id: &str,
) -> Result<Option<(ApprovalRecord, u64)>, StoreError> {
    let (pk, sk) = keys::approval(request_id);
    store.get_as(&pk, &sk).await
}

pub async fn target(
    store: &dyn StateStore,
    user: &UserId,
    app: &AppId,
    device_id: &str,
) -> Result<Option<(TargetPointer, u64)>, StoreError> {
    let (pk, sk) = keys::approval_target(user, app, device_id);
    store.get_as(&pk, &sk).await
}

fn index_put(record: &ApprovalRecord) -> Result<Write, StoreError> {
    let (pk, sk) = keys::approval_in_state(record.state.as_str(), &record.request_id);
    Write::put(pk, sk, record, None, Condition::None)
}

/// Writes a new record, its index entry and the target pointer, all or nothing. The pointer is
/// written only if it is still at `pointer_version` (`None`: absent), so two openers of the same
/// user, app and device cannot both create a request.
pub async fn create(
    store: &dyn StateStore,
    record: &ApprovalRecord,
    pointer_version: Option<u64>,
) -> Result<(), StoreError> {
    let (pk, sk) = keys::approval(&record.request_id);
    let (tpk, tsk) = keys::approval_target(record.user_id(), record.app_id(), &record.device_id);
    let pointer = TargetPointer {
        request_id: record.request_id.clone(),
        round: record.round,
    };
    store
        .transact(vec![
            Write::put(pk, sk, record, None, Condition::NotExists)?,
            index_put(record)?,
            Write::put(
                tpk,
                tsk,
                &pointer,
                None,
                pointer_version.map_or(Condition::NotExists, Condition::Version),
            )?,
        ])
        .await
}

/// Replaces the record at `version` with `record`, moving its index entry from `before` to the
/// record's state.
pub async fn save(
    store: &dyn StateStore,
    before: ApprovalState,
    record: &ApprovalRecord,
    version: u64,
) -> Result<(), StoreError> {
    let (pk, sk) = keys::approval(&record.request_id);
    let mut writes = vec![Write::put(
        pk,
        sk,
        record,
        None,
        Condition::Version(version),
    )?];
    if before != record.state {
        let (ipk, isk) = keys::approval_in_state(before.as_str(), &record.request_id);
        writes.push(Write::Delete {
            pk: ipk,
            sk: isk,
            condition: Condition::None,
        });
    }
    writes.push(index_put(record)?);
    store.transact(writes).await
}

/// Reads the record, lets `change` edit it and decide, and writes it back if it changed;
/// re-reads and re-runs `change` when another writer got there first. Returns the record as it
/// now is with `change`'s decision, or `None` when no record has this request id.
pub async fn update<T>(
    store: &dyn StateStore,
    request_id: &str,
    mut change: impl FnMut(&mut ApprovalRecord) -> T,
) -> Result<Option<(ApprovalRecord, T)>, StoreError> {
    for _ in 0..CAS_ATTEMPTS {
        let Some((mut record, version)) = load(store, request_id).await? else {
            return Ok(None);
        };
        let before = record.clone();
        let decision = change(&mut record);
        if record == before {
            return Ok(Some((record, decision)));
        }
        match save(store, before.state, &record, version).await {
            Ok(()) => return Ok(Some((record, decision))),
            Err(e) if e.is_condition_failed() => continue,
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::Unavailable(format!(
        "approval {request_id} keeps changing concurrently"
    )))
}

/// The records in the states of `filter` (all states without one), oldest first.
pub async fn list(
    store: &dyn StateStore,
    filter: Option<StateFilter>,
) -> Result<Vec<ApprovalRecord>, StoreError> {
    let states: Vec<ApprovalState> = match filter {
        Some(f) => f.states().to_vec(),
        None => ApprovalState::ALL.to_vec(),
    };
    let mut records = Vec::new();
    for state in states {
        let pk = keys::approvals_in_state_partition(state.as_str());
        for item in store.query(&pk, "").await? {
            records.push(item.decode::<ApprovalRecord>()?);
        }
    }
    records.sort_by(|a, b| {
        a.created_at
            .cmp(&b.created_at)
            .then_with(|| a.request_id.cmp(&b.request_id))
    });
    Ok(records)
}

/// Every current request of a user for an app (one per device).
pub async fn of_user_app(
    store: &dyn StateStore,
    user: &UserId,
    app: &AppId,
) -> Result<Vec<ApprovalRecord>, StoreError> {
    let pk = keys::approval_target_partition(user);
    let mut records = Vec::new();
    for item in store.query(&pk, &format!("{app}#")).await? {
        let pointer: TargetPointer = item.decode()?;
        if let Some((record, _)) = load(store, &pointer.request_id).await? {
            records.push(record);
        }
    }
    Ok(records)
}

/// Where a user's app stands with approvals: across its devices, the state that says the most
/// (approved, then pending, then failed, rejected, expired); `None` when it was never asked.
pub async fn approval_for(
    store: &dyn StateStore,
    user: &UserId,
    app: &AppId,
) -> Result<Option<ApprovalState>, StoreError> {
    Ok(of_user_app(store, user, app)
        .await?
        .iter()
        .map(|r| r.state)
        .max_by_key(|s| s.precedence()))
}
