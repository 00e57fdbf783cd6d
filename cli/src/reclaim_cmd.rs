//! `loadout reclaim [--dry-run] [--json]`: one license reclamation run now, on a local data
//! directory (also beside a running `loadout local`) or on AWS (`--aws`); and
//! `loadout reclaim report [--json|--csv]`: seats reclaimed and the cost saved, per app and in
//! total, per month.

use crate::local::secrets::ensure_local_secrets;
use crate::output::table;
use crate::target::{self, Target};
use loadout::adapters::local::LocalSecrets;
use loadout::stages::reclaim::savings::{self, SavingsReport};
use loadout::stages::reclaim::{self, RunReport};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum ReclaimCmdError {
    #[error(transparent)]
    Target(#[from] target::TargetError),
    #[error(transparent)]
    Local(#[from] crate::local::LocalError),
    #[error(transparent)]
    Setup(#[from] reclaim::SetupError),
    #[error("reclamation: {0}")]
    Run(#[from] reclaim::ReclaimError),
    #[error("savings: {0}")]
    Stage(#[from] loadout::stages::StageError),
}

/// Runs once. Locally, usage comes from `usage` (default: `<data dir>/usage.csv` when present)
/// and the "keep it" links point at `LOADOUT_PUBLIC_BASE_URL` or local mode's default address.
pub async fn run(
    target: &Target,
    usage: Option<PathBuf>,
    dry_run: bool,
) -> Result<RunReport, ReclaimCmdError> {
    let mut services = target::services(target).await?;
    let lookup = |name: &str| std::env::var(name).ok();
    let (usage, default_base) = match target {
        Target::Local(dir) => {
            // The link secret local mode generated (kept in the data directory).
            let secrets = Arc::new(LocalSecrets::from_env());
            ensure_local_secrets(&secrets, dir)?;
            services.secrets = secrets;
            let usage = usage.or_else(|| {
                let p = dir.join("usage.csv");
                p.exists().then_some(p)
            });
            (usage, Some("http://127.0.0.1:8080".to_owned()))
        }
        Target::Aws => (usage, None),
    };
    let reclaimer = reclaim::configured(&services, &lookup, usage, default_base)?;
    let catalog = reclaim::active_catalog(services.store.as_ref()).await?;
    Ok(reclaimer.run(&catalog, dry_run).await?)
}

pub async fn report(target: &Target) -> Result<SavingsReport, ReclaimCmdError> {
    let services = target::services(target).await?;
    Ok(savings::report(
        &savings::entries(services.store.as_ref()).await?,
    ))
}

/// A run, for a person.
pub fn render(report: &RunReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} at {}: {} notice(s), {} seat(s) reclaimed{}",
        if report.dry_run {
            "Reclamation dry run (nothing changed)"
        } else {
            "Reclamation run"
        },
        report.at.format("%Y-%m-%d %H:%M UTC"),
        report.notices(),
        report.reclaimed(),
        if report.complete {
            ""
        } else {
            " (stopped at its deadline; the next run continues)"
        }
    );
    for s in &report.sources {
        let _ = writeln!(
            out,
            "usage source {}: {} ({})",
            s.source,
            if s.ok { "read" } else { "FAILED" },
            s.detail
        );
    }
    let rows: Vec<Vec<String>> = report
        .apps
        .iter()
        .map(|a| {
            vec![
                a.app.to_string(),
                a.holders.to_string(),
                a.unused.to_string(),
                a.new_candidates.len().to_string(),
                a.notices.len().to_string(),
                a.reclaimed.len().to_string(),
                a.held.len().to_string(),
                (a.kept.len() + a.used_again.len()).to_string(),
                a.granted.len().to_string(),
                a.stopped.clone().unwrap_or_default(),
            ]
        })
        .collect();
    if rows.is_empty() {
        out.push_str(
            "No licensed app has an inactivity threshold (catalog: license.inactivity_days).\n",
        );
    } else {
        out.push_str(&table(
            &[
                "APP",
                "HOLDERS",
                "UNUSED",
                "NEW",
                "NOTICES",
                "RECLAIMED",
                "HELD",
                "KEPT",
                "GRANTED",
                "STOPPED",
            ],
            &rows,
        ));
    }
    for a in &report.apps {
        for h in &a.held {
            let _ = writeln!(out, "  {} / {}: removal waits: {}", a.app, h.user, h.reason);
        }
    }
    out
}

/// The savings report, for a person.
pub fn render_savings(report: &SavingsReport) -> String {
    if report.total.seats == 0 {
        return "No seat has been reclaimed yet.\n".into();
    }
    let mut rows = Vec::new();
    for m in &report.months {
        for (app, line) in &m.apps {
            rows.push(vec![
                m.month.clone(),
                app.to_string(),
                line.seats.to_string(),
                format!("{:.2}", line.cost_saved),
            ]);
        }
        rows.push(vec![
            m.month.clone(),
            "(total)".into(),
            m.total.seats.to_string(),
            format!("{:.2}", m.total.cost_saved),
        ]);
    }
    let mut out = table(&["MONTH", "APP", "SEATS", "SAVED/MONTH"], &rows);
    let _ = writeln!(
        out,
        "In total: {} seat(s) reclaimed, {:.2} a month saved.",
        report.total.seats, report.total.cost_saved
    );
    out
}
