//! `loadout recommendations list|approve|reject`: thin over `loadout::stages::admin::recommendations`.

use crate::output::table;
use crate::target::{self, Target};
use loadout::stages::admin::recommendations::{self, Outcome, Selection};
use loadout::stages::recommendations::{Filter, Recommendation, Verdict};
use std::fmt::Write as _;

/// Who an admin command acts as: `--by`, else the login name, else "admin".
pub fn who(by: Option<String>) -> String {
    by.filter(|b| !b.trim().is_empty())
        .or_else(|| std::env::var("USER").ok().filter(|u| !u.is_empty()))
        .unwrap_or_else(|| "admin".to_owned())
}

pub async fn list(target: &Target, filter: &Filter) -> Result<Vec<Recommendation>, String> {
    let services = target::services(target).await.map_err(|e| e.to_string())?;
    recommendations::list(&services, filter)
        .await
        .map_err(|e| e.to_string())
}

pub async fn act(
    target: &Target,
    selection: &Selection,
    verdict: Verdict,
    by: &str,
    note: Option<&str>,
    dry_run: bool,
) -> Result<Outcome, String> {
    let services = target::services(target).await.map_err(|e| e.to_string())?;
    recommendations::act(&services, selection, verdict, by, note, dry_run)
        .await
        .map_err(|e| e.to_string())
}

pub fn render_list(recs: &[Recommendation]) -> String {
    if recs.is_empty() {
        return "no recommendations\n".to_owned();
    }
    let rows: Vec<Vec<String>> = recs
        .iter()
        .map(|r| {
            vec![
                r.id.clone(),
                r.state.as_str().to_owned(),
                r.action.user_id.to_string(),
                format!("{} {}", r.action.kind.as_str(), r.action.app_id),
                format!("{:?}", r.origin).to_lowercase(),
                r.gate.as_str().to_owned(),
                r.decided_by
                    .as_ref()
                    .map(|by| format!("by {by}"))
                    .or_else(|| r.gate.reason().map(str::to_owned))
                    .unwrap_or_default(),
            ]
        })
        .collect();
    table(
        &["ID", "STATE", "USER", "ACTION", "ORIGIN", "GATE", "WHY"],
        &rows,
    )
}

pub fn render_outcome(outcome: &Outcome, verdict: Verdict) -> String {
    let verb = match (verdict, outcome.dry_run) {
        (Verdict::Approve, false) => "approved",
        (Verdict::Reject, false) => "rejected",
        (Verdict::Approve, true) => "would approve",
        (Verdict::Reject, true) => "would reject",
    };
    let mut out = String::new();
    for r in &outcome.decided {
        let _ = writeln!(
            out,
            "{verb} {}: {} {} for {}",
            r.id,
            r.action.kind.as_str(),
            r.action.app_id,
            r.action.user_id
        );
    }
    for (id, state) in &outcome.unchanged {
        let _ = writeln!(out, "{id}: already {state}, unchanged");
    }
    for id in &outcome.unknown {
        let _ = writeln!(out, "{id}: no such recommendation");
    }
    if outcome.decided.is_empty() && outcome.unchanged.is_empty() && outcome.unknown.is_empty() {
        out.push_str("nothing matched\n");
    }
    if let Some(c) = &outcome.reevaluation {
        let _ = writeln!(
            out,
            "the people concerned are being decided again (correlation id {c}); the approved actions go to UEM through the executor"
        );
    }
    out
}

/// Parses the selection of `approve`/`reject`: ids, or `--all-matching FILTER`.
pub fn selection(ids: Vec<String>, all_matching: Option<String>) -> Result<Selection, String> {
    match (ids.is_empty(), all_matching) {
        (false, None) => Ok(Selection::Ids(ids)),
        (true, Some(f)) => Ok(Selection::Matching(
            f.parse::<Filter>().map_err(|e| e.to_string())?,
        )),
        (false, Some(_)) => Err("give recommendation ids or --all-matching, not both".into()),
        (true, None) => Err("give recommendation ids, or --all-matching FILTER".into()),
    }
}
