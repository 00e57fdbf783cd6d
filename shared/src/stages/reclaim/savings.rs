//! The savings ledger: one entry per seat reclaimed, kept apart from the seat records (which a
//! later cycle overwrites), and the report built from it: seats reclaimed and the cost they save,
//! per app and in total, per month. A seat's saving is the catalog's cost per seat (a monthly
//! price) at the time it was reclaimed.

use crate::domain::{AppId, UserId};
use crate::keys;
use crate::ports::{Condition, StateStore, StateStoreExt};
use crate::stages::StageError;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub app_id: AppId,
    pub user_id: UserId,
    pub at: DateTime<Utc>,
    pub cost_per_seat: f64,
}

pub fn month_of(at: DateTime<Utc>) -> String {
    at.format("%Y-%m").to_string()
}

/// Records a reclaimed seat (idempotent: the same seat and time is one entry).
pub async fn record(store: &dyn StateStore, entry: &LedgerEntry) -> Result<(), StageError> {
    let (pk, sk) =
        keys::reclaim_ledger(&month_of(entry.at), &entry.app_id, &entry.user_id, entry.at);
    match store
        .put_as(&pk, &sk, entry, None, Condition::NotExists)
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if e.is_condition_failed() => Ok(()),
        Err(e) => Err(e.into()),
    }
}

pub async fn entries(store: &dyn StateStore) -> Result<Vec<LedgerEntry>, StageError> {
    let mut out = Vec::new();
    for item in store.query(keys::RECLAIM_LEDGER, "").await? {
        out.push(item.decode()?);
    }
    Ok(out)
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Line {
    pub seats: u32,
    pub cost_saved: f64,
}

impl Line {
    fn add(&mut self, cost: f64) {
        self.seats += 1;
        self.cost_saved += cost;
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MonthReport {
    pub month: String,
    pub apps: BTreeMap<AppId, Line>,
    pub total: Line,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SavingsReport {
    pub months: Vec<MonthReport>,
    /// Per app over every month.
    pub apps: BTreeMap<AppId, Line>,
    pub total: Line,
}

/// The report of a ledger (pure).
pub fn report(entries: &[LedgerEntry]) -> SavingsReport {
    let mut months: BTreeMap<String, MonthReport> = BTreeMap::new();
    let mut out = SavingsReport::default();
    for e in entries {
        let month = month_of(e.at);
        let m = months.entry(month.clone()).or_insert_with(|| MonthReport {
            month,
            ..MonthReport::default()
        });
        m.apps
            .entry(e.app_id.clone())
            .or_default()
            .add(e.cost_per_seat);
        m.total.add(e.cost_per_seat);
        out.apps
            .entry(e.app_id.clone())
            .or_default()
            .add(e.cost_per_seat);
        out.total.add(e.cost_per_seat);
    }
    out.months = months.into_values().collect();
    out
}

/// `month,app,seats,cost_saved` lines, a `total` app per month and a final `all` line.
pub fn to_csv(report: &SavingsReport) -> String {
    let mut out = String::from("month,app,seats,cost_saved\n");
    for m in &report.months {
        for (app, line) in &m.apps {
            out.push_str(&format!(
                "{},{app},{},{:.2}\n",
                m.month, line.seats, line.cost_saved
            ));
        }
        out.push_str(&format!(
            "{},total,{},{:.2}\n",
            m.month, m.total.seats, m.total.cost_saved
        ));
    }
    out.push_str(&format!(
        "all,total,{},{:.2}\n",
        report.total.seats, report.total.cost_saved
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn entry(app: &str, user: &str, month: u32, cost: f64) -> LedgerEntry {
        LedgerEntry {
            app_id: AppId::new(app),
            user_id: UserId::new(user),
            at: Utc
                .with_ymd_and_hms(2026, month, 3, 2, 0, 0)
                .single()
                .expect("date"),
            cost_per_seat: cost,
        }
    }

    #[test]
    fn seats_and_savings_add_up_per_app_and_month() {
        let r = report(&[
            entry("gong", "a", 1, 100.0),
            entry("gong", "b", 1, 100.0),
            entry("zoom", "a", 2, 15.5),
        ]);
        assert_eq!(r.months.len(), 2);
        assert_eq!(r.months[0].month, "2026-01");
        assert_eq!(r.months[0].apps[&AppId::new("gong")].seats, 2);
        assert_eq!(r.months[0].total.cost_saved, 200.0);
        assert_eq!(r.total.seats, 3);
        assert_eq!(r.apps[&AppId::new("zoom")].cost_saved, 15.5);
        let csv = to_csv(&r);
        assert!(csv.contains("2026-01,gong,2,200.00\n"), "{csv}");
        assert!(csv.ends_with("all,total,3,215.50\n"), "{csv}");
    }
}
