//! `loadout breaker list|release` and `loadout kill-switch on|off`: thin over
//! `loadout::stages::admin::breakers`.

use crate::output::table;
use crate::target::{self, Target};
use loadout::domain::{ActionKind, AppId};
use loadout::stages::admin::breakers::{self, Released, Switched, TrippedBreaker};
use std::fmt::Write as _;

pub async fn list(target: &Target) -> Result<Vec<TrippedBreaker>, String> {
    let services = target::services(target).await.map_err(|e| e.to_string())?;
    breakers::list(&services).await.map_err(|e| e.to_string())
}

pub async fn release(
    target: &Target,
    app: &AppId,
    kind: Option<ActionKind>,
    by: &str,
) -> Result<Released, String> {
    let services = target::services(target).await.map_err(|e| e.to_string())?;
    breakers::release(&services, app, kind, by)
        .await
        .map_err(|e| e.to_string())
}

pub async fn kill_switch(
    target: &Target,
    on: bool,
    by: &str,
    reason: Option<&str>,
) -> Result<Switched, String> {
    let services = target::services(target).await.map_err(|e| e.to_string())?;
    breakers::kill_switch(&services, on, by, reason)
        .await
        .map_err(|e| e.to_string())
}

pub fn parse_kind(kind: Option<String>) -> Result<Option<ActionKind>, String> {
    match kind.as_deref().map(str::trim) {
        None => Ok(None),
        Some("assign") => Ok(Some(ActionKind::Assign)),
        Some("remove") => Ok(Some(ActionKind::Remove)),
        Some(other) => Err(format!("--kind {other:?}: use assign or remove")),
    }
}

pub fn render_list(tripped: &[TrippedBreaker]) -> String {
    if tripped.is_empty() {
        return "no breaker is tripped\n".to_owned();
    }
    let rows: Vec<Vec<String>> = tripped
        .iter()
        .map(|t| {
            vec![
                t.app_id.to_string(),
                t.kind.as_str().to_owned(),
                t.tripped_at.format("%Y-%m-%d %H:%M UTC").to_string(),
                t.held.to_string(),
                t.reason.clone(),
            ]
        })
        .collect();
    table(&["APP", "DIRECTION", "TRIPPED", "HELD", "WHY"], &rows)
}

pub fn render_released(app: &AppId, released: &Released) -> String {
    let mut out = String::new();
    if released.released.is_empty() {
        let _ = writeln!(out, "no breaker of {app} is tripped");
        return out;
    }
    for kind in &released.released {
        let _ = writeln!(out, "released the breaker of {app} ({})", kind.as_str());
    }
    let _ = writeln!(
        out,
        "{} people it held are decided again; past the limit it trips again (approve the held recommendations to let a reviewed change through whole)",
        released.reevaluated
    );
    out
}
