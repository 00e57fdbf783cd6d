//! `loadout sweep [--data-dir DIR] [--dry-run] [--json]`: one sweep now, beside a running
//! `loadout local` on the same data directory (UEM as local mode reaches it: the simulator's
//! address and credentials from `runtime.json`, or a real tenant from `LOADOUT_UEM_*`).

use crate::local::runtime;
use crate::output::table;
use crate::target::{self, Target};
use loadout::stages::execute::Executor;
use loadout::stages::policy_repo::{PolicyCache, engine_from_record};
use loadout::stages::sweep::{SweepOptions, SweepReport, Sweeper};
use loadout::uem::{UemApi, UemClient, UemConfig};
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error(transparent)]
    Target(#[from] target::TargetError),
    #[error(transparent)]
    Runtime(#[from] crate::local::LocalError),
    #[error("UEM: {0}")]
    Uem(#[from] loadout::uem::UemError),
    #[error(
        "no UEM to sweep: start `loadout local` on this data directory first, or set LOADOUT_UEM_BASE_URL and the UEM credentials"
    )]
    NoUem,
    #[error("sweep: {0}")]
    Stage(#[from] loadout::stages::StageError),
}

async fn uem(
    data_dir: &Path,
    services: &loadout::stages::Services,
) -> Result<Arc<dyn UemApi>, SweepError> {
    if let Some(rt) = runtime::read(data_dir)?
        && let Some(config) = rt.uem_config()
    {
        let client = UemClient::new(config, services.store.clone(), services.clock.clone())?;
        return Ok(Arc::new(client));
    }
    let Ok(base) = std::env::var("LOADOUT_UEM_BASE_URL") else {
        return Err(SweepError::NoUem);
    };
    let token_url = std::env::var("LOADOUT_UEM_TOKEN_URL").ok();
    let config = UemConfig::from_secrets(services.secrets.as_ref(), &base, token_url.as_deref())
        .await?
        .requests_per_minute(services.settings.uem_requests_per_minute)
        .organization_group_id(services.settings.uem_organization_group_id.as_deref());
    Ok(Arc::new(UemClient::new(
        config,
        services.store.clone(),
        services.clock.clone(),
    )?))
}

pub async fn sweep(data_dir: &Path, options: &SweepOptions) -> Result<SweepReport, SweepError> {
    let services = target::services(&Target::Local(data_dir.to_path_buf())).await?;
    let uem = uem(data_dir, &services).await?;
    let cache = || PolicyCache::new(engine_from_record, Duration::from_secs(5));
    let executor = Arc::new(Executor::new(services.clone(), uem.clone(), cache()));
    let sweeper = Sweeper::new(services, uem, cache(), executor);
    Ok(sweeper.sweep(options).await?)
}

/// The report for a person.
pub fn render(report: &SweepReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: {} Loadout group(s) read, {} app(s) checked, {} UEM call(s)",
        if report.dry_run { "Dry run" } else { "Sweep" },
        report.groups_read,
        report.apps_checked,
        report
            .uem_calls
            .map(|c| c.to_string())
            .unwrap_or_else(|| "?".into())
    );
    if let Some(users) = &report.inventory_users {
        let _ = writeln!(
            out,
            "Inventory: {} user(s) in {} page(s) (+{} ~{} -{})",
            users.read, users.pages, users.added, users.changed, users.removed
        );
    }
    if let Some(devices) = &report.inventory_devices {
        let _ = writeln!(
            out,
            "Inventory: {} device(s) in {} page(s) (+{} ~{} -{})",
            devices.read, devices.pages, devices.added, devices.changed, devices.removed
        );
    }
    if report.drift.is_empty() {
        let _ = writeln!(out, "No drift: UEM holds what Loadout expects.");
    } else {
        let rows: Vec<Vec<String>> = report
            .drift
            .iter()
            .map(|d| {
                vec![
                    d.kind.as_str().to_owned(),
                    d.group.clone().unwrap_or_default(),
                    d.user_id
                        .as_ref()
                        .map(|u| u.to_string())
                        .unwrap_or_else(|| {
                            d.uem_user_id
                                .map(|id| format!("UEM user {id}"))
                                .unwrap_or_default()
                        }),
                    d.repair.clone(),
                ]
            })
            .collect();
        out.push_str(&table(&["drift", "group", "user", "repair"], &rows));
    }
    let _ = writeln!(
        out,
        "{} user(s) decided again; {} parked ({} picked up); {} assignment(s) repaired; {} app(s) flushed",
        report.reevaluated,
        report.parked,
        report.unparked,
        report.assignments_repaired,
        report.flushed_apps
    );
    for (reason, count) in &report.reevaluation_reasons {
        let _ = writeln!(out, "  {count:>5}  {reason}");
    }
    if !report.removals_awaiting_confirmation.is_empty() {
        let apps: Vec<&str> = report
            .removals_awaiting_confirmation
            .iter()
            .map(|a| a.as_str())
            .collect();
        let _ = writeln!(
            out,
            "Left the catalog, kept until confirmed (--confirm-catalog-removals): {}",
            apps.join(", ")
        );
    }
    out
}
