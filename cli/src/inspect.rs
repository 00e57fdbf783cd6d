//! `loadout audit` and `loadout explain`: read the trail and the latest decisions of a local-mode
//! data directory, so an admin can answer "why does this user have (or not have) this app?".

use crate::output::table;
use loadout::adapters::local::{LocalDb, SqliteAuditLog, SqliteStateStore};
use loadout::domain::{AppId, AuditRecord, CorrelationId, Decision, UserId};
use loadout::keys;
use loadout::ports::{AuditLog, AuditQuery, StateStore, StateStoreExt, SystemClock};
use loadout::reconcile::ManagedApp;
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

/// Why a user has the apps they have, or why not one app.
pub async fn explain(
    dir: &Path,
    user: &UserId,
    app: Option<&AppId>,
) -> Result<String, InspectError> {
    let db = open(dir)?;
    let store = SqliteStateStore::new(db.clone(), Arc::new(SystemClock));
    let log = SqliteAuditLog::new(db);
    let read = |e: &dyn std::fmt::Display| InspectError::Read(e.to_string());
    let (pk, sk) = keys::latest_decision(user);
    let decision: Option<Decision> = store
        .get_as(&pk, &sk)
        .await
        .map_err(|e| read(&e))?
        .map(|(d, _)| d);
    let Some(decision) = decision else {
        return Ok(format!("No decision has been made for {user} yet.\n"));
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Latest decision for {user}: policy set {}, {} (correlation {})",
        decision.policy_version,
        decision.decided_at.format("%Y-%m-%d %H:%M:%S UTC"),
        decision.correlation_id
    );
    let managed = store
        .query(&keys::managed_partition(user), "")
        .await
        .map_err(|e| read(&e))?
        .iter()
        .filter_map(|i| i.decode::<ManagedApp>().ok())
        .collect::<Vec<_>>();
    match app {
        None => {
            for e in &decision.desired {
                let held = managed.iter().any(|m| m.app_id == e.app_id);
                let _ = writeln!(
                    out,
                    "  {:<24} {:<9} {}  [{}]",
                    e.app_id.as_str(),
                    e.push_mode.as_str(),
                    e.reasons
                        .iter()
                        .map(|r| r.rule_id.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    if held {
                        "in UEM"
                    } else {
                        "not applied (waiting, or held by a gate)"
                    }
                );
            }
            for d in &decision.denied {
                let _ = writeln!(
                    out,
                    "  {:<24} denied    {}",
                    d.app_id.as_str(),
                    d.reasons
                        .iter()
                        .map(|r| r.rule_id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
        }
        Some(app) => {
            if let Some(e) = decision.entitlement(app) {
                let _ = writeln!(out, "{app} is desired ({}) because:", e.push_mode.as_str());
                for r in &e.reasons {
                    let _ = writeln!(out, "  {}: {}", r.rule_id, r.text);
                }
            } else if let Some(d) = decision.denied.iter().find(|d| &d.app_id == app) {
                let _ = writeln!(out, "{app} is denied by a guardrail:");
                for r in &d.reasons {
                    let _ = writeln!(out, "  {}: {}", r.rule_id, r.text);
                }
            } else {
                let _ = writeln!(out, "{app} is not desired: no policy grants it to {user}.");
            }
            match managed.iter().find(|m| &m.app_id == app) {
                Some(m) => {
                    let _ = writeln!(
                        out,
                        "UEM: assigned by Loadout ({}) on {} by correlation {}",
                        m.push_mode.as_str(),
                        m.assigned_at.format("%Y-%m-%d %H:%M:%S UTC"),
                        m.assigned_by
                    );
                }
                None => {
                    let _ = writeln!(out, "UEM: Loadout has not assigned it.");
                }
            }
            let trail = log
                .query(&AuditQuery::user(user))
                .await
                .map_err(|e| read(&e))?
                .into_iter()
                .filter(|r| {
                    r.app_id.as_ref() == Some(app)
                        || r.correlation_id == decision.correlation_id && r.app_id.is_none()
                })
                .collect::<Vec<_>>();
            let _ = writeln!(out, "\nTrail:");
            out.push_str(&render(&trail));
        }
    }
    Ok(out)
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
