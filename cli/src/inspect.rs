//! `loadout audit` and `loadout explain`: read the trail and the latest decisions of a local-mode
//! data directory, so an admin can answer "why does this user have (or not have) this app?".

use crate::output::table;
use loadout::adapters::local::{LocalDb, SqliteAuditLog, SqliteStateStore};
use loadout::domain::{AppId, AuditRecord, CorrelationId, UserId};
use loadout::ports::{AuditLog, AuditQuery, SystemClock};
use loadout::stages::admin::explain::Explanation;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    #[error("no Loadout data in {0} (start `loadout local` first, or pass --data-dir)")]
    NoData(String),
    #[error("{0}")]
    Read(String),
}

fn open(dir: &Path) -> Result<LocalDb, InspectError> {
    if !dir.join("loadout.db").exists() {
        return Err(InspectError::NoData(dir.display().to_string()));
    }
    LocalDb::open_dir(dir).map_err(|e| InspectError::Read(e.to_string()))
}

/// The audit records matching one key, oldest first.
pub async fn audit(dir: &Path, query: AuditQuery, json: bool) -> Result<String, InspectError> {
    let log = SqliteAuditLog::new(open(dir)?);
    let records = log
        .query(&query)
        .await
        .map_err(|e| InspectError::Read(e.to_string()))?;
    if json {
        return serde_json::to_string_pretty(&records)
            .map_err(|e| InspectError::Read(e.to_string()));
    }
    Ok(render(&records))
}

fn render(records: &[AuditRecord]) -> String {
    let rows: Vec<Vec<String>> = records
        .iter()
        .map(|r| {
            vec![
                r.at.format("%Y-%m-%d %H:%M:%S").to_string(),
                r.kind.as_str().to_owned(),
                r.user_id
                    .as_ref()
                    .map(|u| u.to_string())
                    .unwrap_or_default(),
                r.app_id.as_ref().map(|a| a.to_string()).unwrap_or_default(),
                r.summary.clone(),
            ]
        })
        .collect();
    table(&["at (UTC)", "kind", "user", "app", "what happened"], &rows)
}

/// Why a user has the apps they have, or why not one app: the decision, what UEM holds for
/// them in Loadout's groups (and how old that observation is), and the difference.
pub async fn explain(
    dir: &Path,
    user: &UserId,
    app: Option<&AppId>,
) -> Result<String, InspectError> {
    Ok(render_explanation(&explanation(dir, user, app).await?))
}

/// The explanation itself, for `--json` and for tests.
pub async fn explanation(
    dir: &Path,
    user: &UserId,
    app: Option<&AppId>,
) -> Result<Explanation, InspectError> {
    let db = open(dir)?;
    let store = SqliteStateStore::new(db.clone(), Arc::new(SystemClock));
    let log = SqliteAuditLog::new(db);
    loadout::stages::admin::explain::explain(&store, &log, user, app, chrono::Utc::now())
        .await
        .map_err(|e| InspectError::Read(e.to_string()))
}

fn age(then: chrono::DateTime<chrono::Utc>, now: chrono::DateTime<chrono::Utc>) -> String {
    let secs = (now - then).num_seconds().max(0);
    match secs {
        s if s < 120 => format!("{s} s ago"),
        s if s < 7_200 => format!("{} min ago", s / 60),
        s if s < 172_800 => format!("{} h ago", s / 3_600),
        s => format!("{} days ago", s / 86_400),
    }
}

pub fn render_explanation(e: &Explanation) -> String {
    let mut out = String::new();
    let now = e.explained_at;
    match &e.decision {
        Some(d) => {
            let _ = writeln!(
                out,
                "Latest decision for {}: policy set {}, {} (correlation {})",
                e.user,
                d.policy_version,
                d.decided_at.format("%Y-%m-%d %H:%M:%S UTC"),
                d.correlation_id
            );
        }
        None => {
            let _ = writeln!(out, "No decision has been made for {} yet.", e.user);
        }
    }
    match (&e.identity, &e.parked) {
        (Some(id), _) => {
            let _ = writeln!(
                out,
                "UEM enrollment user: {} (id {}), matched by {}",
                id.uem.username, id.uem.id, id.matched_by
            );
        }
        (None, Some(p)) => {
            let _ = writeln!(
                out,
                "Parked since {}: {}",
                p.since.format("%Y-%m-%d %H:%M UTC"),
                p.reason
            );
        }
        (None, None) => {
            let _ = writeln!(out, "Not matched to a UEM enrollment user yet.");
        }
    }
    let observed = if !e.observation.known {
        "unknown (no sweep has read Loadout's groups yet, and no write of Loadout's saw this user)"
            .to_owned()
    } else {
        match (e.observation.updated_at, e.observation.last_sweep) {
            (Some(at), _) => format!("as of {}", age(at, now)),
            (None, Some(sweep)) => format!("nothing, as of the sweep {}", age(sweep, now)),
            (None, None) => "nothing".to_owned(),
        }
    };
    let _ = writeln!(
        out,
        "UEM holds for this user in Loadout's groups: {observed}"
    );
    if !e.attributes.is_empty() {
        let attrs: Vec<String> = e
            .attributes
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let _ = writeln!(out, "Attributes the policies read: {}", attrs.join("; "));
    }
    let rows: Vec<Vec<String>> = e
        .apps
        .iter()
        .map(|l| {
            vec![
                l.app_id.to_string(),
                l.desired
                    .map(|m| m.as_str().to_owned())
                    .unwrap_or_else(|| "-".into()),
                l.observed
                    .as_ref()
                    .map(|o| {
                        format!(
                            "{} in {} ({}, {})",
                            o.push_mode.as_str(),
                            o.group,
                            o.source.as_str(),
                            age(o.seen_at, now)
                        )
                    })
                    .unwrap_or_else(|| "-".into()),
                match &l.in_flight {
                    Some(f) => format!("{} {}", f.kind.as_str(), f.action_id),
                    None => String::new(),
                },
                l.standing.describe().to_owned(),
                l.rules.join(", "),
            ]
        })
        .collect();
    out.push_str(&table(
        &[
            "app",
            "desired",
            "observed in UEM",
            "in flight",
            "difference",
            "rules",
        ],
        &rows,
    ));
    if let Some(d) = &e.decision
        && e.apps.len() == 1
    {
        let app = &e.apps[0].app_id;
        if let Some(ent) = d.entitlement(app) {
            let _ = writeln!(
                out,
                "\n{app} is desired ({}) because:",
                ent.push_mode.as_str()
            );
            for r in &ent.reasons {
                let _ = writeln!(out, "  {}: {}", r.rule_id, r.text);
            }
        } else if let Some(den) = d.denied.iter().find(|x| &x.app_id == app) {
            let _ = writeln!(out, "\n{app} is denied by a guardrail:");
            for r in &den.reasons {
                let _ = writeln!(out, "  {}: {}", r.rule_id, r.text);
            }
        } else {
            let _ = writeln!(
                out,
                "\n{app} is not desired: no policy grants it to {}.",
                e.user
            );
        }
    }
    if e.apps.len() == 1 {
        render_chain(&mut out, &e.apps[0], now);
    }
    if !e.trail.is_empty() {
        let _ = writeln!(out, "\nTrail:");
        out.push_str(&render(&e.trail));
    }
    out
}

/// The steps after the rules for one app: evidence, gate, recommendation, approval, UEM action
/// and the audit ids behind them.
fn render_chain(
    out: &mut String,
    line: &loadout::stages::admin::explain::AppLine,
    now: chrono::DateTime<chrono::Utc>,
) {
    for rec in &line.recommendations {
        if let Some(evidence) = &rec.evidence {
            let _ = writeln!(out, "Evidence ({}): {evidence}", rec.origin.as_str());
        }
    }
    if let Some(gate) = &line.gate {
        let _ = writeln!(out, "Gate: {gate}");
    }
    for rec in &line.recommendations {
        let _ = writeln!(
            out,
            "Recommendation {}: {} {} ({}), {}{}, {}",
            rec.id,
            rec.action.kind.as_str(),
            rec.action.app_id,
            rec.gate.reason().unwrap_or(rec.gate.as_str()),
            rec.state.as_str(),
            rec.decided_by
                .as_deref()
                .map(|by| format!(" by {by}"))
                .unwrap_or_default(),
            age(rec.updated_at, now)
        );
    }
    if let Some(verdict) = &line.verdict {
        let _ = writeln!(out, "Verdict: {verdict}");
    }
    for approval in &line.approvals {
        let _ = writeln!(
            out,
            "ServiceNow approval {} (device {}): {}{}, {}",
            approval.request_id,
            approval.device_id,
            approval.state.as_str(),
            approval
                .ticket
                .as_ref()
                .map(|t| format!(", ticket {}", t.number))
                .unwrap_or_default(),
            age(approval.updated_at, now)
        );
    }
    if let Some(action) = &line.uem_action {
        let _ = writeln!(out, "UEM action: {action}");
    }
    if !line.audit_ids.is_empty() {
        let _ = writeln!(out, "Audit records: {}", line.audit_ids.join(", "));
    }
}

/// Builds an audit query from the CLI's flags (correlation id wins, then user, then app).
pub fn query(
    user: Option<String>,
    app: Option<String>,
    correlation: Option<String>,
    limit: Option<usize>,
) -> AuditQuery {
    AuditQuery {
        correlation_id: correlation.map(CorrelationId::new),
        user_id: user.map(UserId::new),
        app_id: app.map(AppId::new),
        limit: limit.or(Some(200)),
    }
}
