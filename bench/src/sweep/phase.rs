//! One measured phase (a sweep, or the pipeline working until idle) and a tenant's figures.

use super::world::World;
use loadout::stages::StageError;
use loadout::stages::sweep::SweepOptions;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::future::Future;

#[derive(Debug, Clone, Default)]
pub struct Phase {
    pub name: String,
    /// Calls the simulator logged during the phase (every caller).
    pub calls: usize,
    pub by_kind: BTreeMap<String, usize>,
    /// Calls the sweep's UEM client counted (`SweepReport::uem_calls`); sweeps only.
    pub sweep_client_calls: Option<u64>,
    pub simulated_secs: f64,
    pub real_secs: f64,
    /// Sweeps only: what the sweep read and found.
    pub groups_read: usize,
    pub apps_checked: usize,
    pub drift: BTreeMap<String, usize>,
    pub reevaluated: usize,
    pub assignments_repaired: usize,
    pub inventory: Option<String>,
}

fn diff(
    before: &BTreeMap<String, usize>,
    after: BTreeMap<String, usize>,
) -> BTreeMap<String, usize> {
    after
        .into_iter()
        .filter_map(|(k, n)| {
            let d = n.saturating_sub(before.get(&k).copied().unwrap_or(0));
            (d > 0).then_some((k, d))
        })
        .collect()
}

/// Serde's name of a drift kind (`member_removed`, ...), for the JSON and the tests.
fn kind_name(kind: loadout::stages::sweep::DriftKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{kind:?}"))
}

impl Phase {
    /// One sweep, as the schedule runs it.
    pub async fn sweep(world: &World, name: &str) -> Result<Self, String> {
        let before = world.counts();
        let (sim_start, real_start) = (tokio::time::Instant::now(), std::time::Instant::now());
        let report = world
            .sweeper
            .sweep(&SweepOptions::default())
            .await
            .map_err(|e| format!("{name}: {e}"))?;
        let simulated_secs = sim_start.elapsed().as_secs_f64();
        let real_secs = real_start.elapsed().as_secs_f64();
        let by_kind = diff(&before, world.counts());
        let mut drift = BTreeMap::new();
        for d in &report.drift {
            *drift.entry(kind_name(d.kind)).or_insert(0) += 1;
        }
        let inventory = match (&report.inventory_users, &report.inventory_devices) {
            (None, None) => None,
            (users, devices) => Some(format!(
                "inventory: {} users in {} page(s), {} devices in {} page(s)",
                users.as_ref().map_or(0, |u| u.read),
                users.as_ref().map_or(0, |u| u.pages),
                devices.as_ref().map_or(0, |d| d.read),
                devices.as_ref().map_or(0, |d| d.pages),
            )),
        };
        Ok(Self {
            name: name.to_owned(),
            calls: by_kind.values().sum(),
            by_kind,
            sweep_client_calls: report.uem_calls,
            simulated_secs,
            real_secs,
            groups_read: report.groups_read,
            apps_checked: report.apps_checked,
            drift,
            reevaluated: report.reevaluated,
            assignments_repaired: report.assignments_repaired,
            inventory,
        })
    }

    /// Starts work (`start`) and lets the pipeline run until idle.
    pub async fn settle<T, F, Fut>(world: &World, name: &str, start: F) -> Result<Self, String>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, StageError>>,
    {
        let before = world.counts();
        let (sim_start, real_start) = (tokio::time::Instant::now(), std::time::Instant::now());
        start().await.map_err(|e| format!("{name}: {e}"))?;
        world.settle(super::SETTLE_LIMIT).await?;
        // The settle check polls a few times after the last work: that quiet tail is not work.
        let calls = world.sim.calls();
        let last_call = calls
            .iter()
            .filter(|c| c.at >= sim_start)
            .map(|c| c.at.saturating_duration_since(sim_start).as_secs_f64())
            .fold(0.0, f64::max);
        let by_kind = diff(&before, world.counts());
        Ok(Self {
            name: name.to_owned(),
            calls: by_kind.values().sum(),
            by_kind,
            simulated_secs: last_call,
            real_secs: real_start.elapsed().as_secs_f64(),
            ..Self::default()
        })
    }

    fn print(&self) {
        let client = self
            .sweep_client_calls
            .map(|c| format!(" (sweep's client counted {c})"))
            .unwrap_or_default();
        println!(
            "  {}: {} UEM calls{client}, {:.1} simulated s, {:.2} real s",
            self.name, self.calls, self.simulated_secs, self.real_secs
        );
        if self.sweep_client_calls.is_some() {
            let drift = if self.drift.is_empty() {
                "no drift".to_owned()
            } else {
                self.drift
                    .iter()
                    .map(|(k, n)| format!("{n} {k}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            println!(
                "      read {} Loadout groups, checked {} apps; {drift}; {} user(s) decided again, {} assignment(s) repaired",
                self.groups_read, self.apps_checked, self.reevaluated, self.assignments_repaired
            );
        }
        if let Some(inventory) = &self.inventory {
            println!("      {inventory}");
        }
        for (kind, n) in &self.by_kind {
            println!("      {n:>6}  {kind}");
        }
    }

    fn json(&self) -> Value {
        json!({
            "uem_calls": self.calls,
            "by_kind": self.by_kind,
            "simulated_secs": round(self.simulated_secs),
            "real_secs": round(self.real_secs),
            "groups_read": self.groups_read,
            "drift": self.drift,
            "reevaluated": self.reevaluated,
        })
    }
}

#[derive(Debug, Clone)]
pub struct TenantFigures {
    pub label: String,
    pub generated: bool,
    pub users: usize,
    pub apps: usize,
    /// Loadout groups in UEM after the first reconciliation.
    pub groups: usize,
    pub memberships: usize,
    pub hand: String,
    pub initial: Phase,
    pub reconcile: Phase,
    pub steady: Phase,
    pub drift_sweep: Phase,
    pub repair: Phase,
    pub verify: Phase,
    pub dead_lettered: usize,
    pub duplicates: usize,
}

impl TenantFigures {
    /// Nothing to repair at steady state or after the repair, the drift found, nothing lost.
    pub fn converged(&self) -> bool {
        self.steady.drift.is_empty()
            && !self.drift_sweep.drift.is_empty()
            && self.verify.drift.is_empty()
            && self.dead_lettered == 0
            && self.duplicates == 0
    }

    pub fn print(&self) {
        println!(
            "{}: {} users, {} apps in the catalog; after the first reconciliation {} Loadout groups with {} memberships",
            self.label, self.users, self.apps, self.groups, self.memberships
        );
        for phase in [&self.initial, &self.reconcile, &self.steady] {
            phase.print();
        }
        println!("  drift by hand: {}", self.hand);
        for phase in [&self.drift_sweep, &self.repair, &self.verify] {
            phase.print();
        }
        println!(
            "  {} dead-lettered, {} duplicate(s) in UEM; converged: {}",
            self.dead_lettered,
            self.duplicates,
            self.converged()
        );
    }

    pub fn json(&self) -> Value {
        json!({
            "tenant": self.label,
            "users": self.users,
            "apps": self.apps,
            "groups": self.groups,
            "memberships": self.memberships,
            "initial_sweep": self.initial.json(),
            "first_reconciliation": self.reconcile.json(),
            "steady_sweep": self.steady.json(),
            "drift_sweep": self.drift_sweep.json(),
            "repair": self.repair.json(),
            "sweep_after_repair": self.verify.json(),
            "dead_lettered": self.dead_lettered,
            "duplicates": self.duplicates,
            "converged": self.converged(),
        })
    }
}

pub fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}
