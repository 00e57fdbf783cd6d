//! `loadout status [--json]`: who is parked until UEM knows them (and why), who is flagged for
//! the next sweep, what is still to be written to UEM, and what the last sweep found.

use crate::output::table;
use loadout::stages::admin::status::Status;
use std::fmt::Write as _;

pub fn render(status: &Status) -> String {
    let mut out = String::new();
    if status.parked.is_empty() {
        let _ = writeln!(
            out,
            "Nobody is parked: every person Loadout decided for is in UEM."
        );
    } else {
        let _ = writeln!(
            out,
            "Parked until UEM knows them ({}):",
            status.parked.len()
        );
        let rows: Vec<Vec<String>> = status
            .parked
            .iter()
            .map(|p| {
                vec![
                    p.user_id.to_string(),
                    p.since.format("%Y-%m-%d %H:%M").to_string(),
                    p.attempts.to_string(),
                    p.reason.clone(),
                ]
            })
            .collect();
        out.push_str(&table(&["user", "since (UTC)", "tries", "why"], &rows));
    }
    if !status.flagged.is_empty() {
        let _ = writeln!(
            out,
            "\nDecided again at the next sweep ({}):",
            status.flagged.len()
        );
        let rows: Vec<Vec<String>> = status
            .flagged
            .iter()
            .map(|f| vec![f.user_id.to_string(), f.attention.reason.clone()])
            .collect();
        out.push_str(&table(&["user", "why"], &rows));
    }
    if !status.pending.is_empty() {
        let _ = writeln!(out, "\nChanges not yet written to UEM:");
        for p in &status.pending {
            let _ = writeln!(out, "  {:<28} {} change(s)", p.app_id.as_str(), p.changes);
        }
    }
    match &status.last_sweep {
        Some(r) => {
            let _ = writeln!(
                out,
                "\nLast sweep {}: {} group(s), {} drift item(s), {} user(s) decided again.",
                r.finished_at
                    .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                    .unwrap_or_default(),
                r.groups_read,
                r.drift.len(),
                r.reevaluated
            );
        }
        None => {
            let _ = writeln!(out, "\nNo sweep has run yet.");
        }
    }
    out
}
