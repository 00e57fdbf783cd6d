//! `loadout status`: what is waiting, and why: people parked until UEM knows them, users flagged
//! for the next sweep, apps with changes not yet written to UEM, and the last sweep's report.

use crate::domain::{AppId, UserId};
use crate::keys;
use crate::ports::{StateStore, StateStoreExt};
use crate::stages::StageError;
use crate::stages::execute::Attention;
use crate::stages::identity::{self, ParkedRecord};
use crate::stages::sweep::SweepReport;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Flagged {
    pub user_id: UserId,
    pub attention: Attention,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingApp {
    pub app_id: AppId,
    pub changes: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    pub parked: Vec<ParkedRecord>,
    pub flagged: Vec<Flagged>,
    pub pending: Vec<PendingApp>,
    pub last_sweep: Option<SweepReport>,
}

pub async fn status(store: &dyn StateStore) -> Result<Status, StageError> {
    let mut flagged = Vec::new();
    for item in store.query(keys::ATTENTION, "").await? {
        flagged.push(Flagged {
            user_id: UserId::new(&item.sk),
            attention: item.decode()?,
        });
    }
    let mut pending = Vec::new();
    let (pk, _) = keys::pending_app(&AppId::new(""));
    for item in store.query(&pk, "").await? {
        let app = AppId::new(&item.sk);
        let changes = store.query(&keys::pending_partition(&app), "").await?.len();
        pending.push(PendingApp {
            app_id: app,
            changes,
        });
    }
    let (pk, sk) = keys::sweep_report("last");
    Ok(Status {
        parked: identity::all_parked(store).await?,
        flagged,
        pending,
        last_sweep: store.get_as(&pk, &sk).await?.map(|(r, _)| r),
    })
}
