//! The demo's approvals part: the sample joiner in gated mode, with the ServiceNow simulator as
//! the approvers' desk. The joiner's licensed apps are held and the executor opens one ServiceNow
//! request per device; an approver approves one app and rejects another; ServiceNow's flow calls
//! Loadout back, and UEM ends with the approved app and without the rejected one.

use crate::approvals_cmd::ApprovalLine;
use crate::demo::DemoError;
use crate::hris_sender::HrisSender;
use crate::local::{LocalMode, LocalOptions, ServiceNowTarget};
use loadout::approvals::{ApprovalRecord, store};
use loadout::domain::AppId;
use loadout::governance::Mode;
use loadout::ports::secrets::keys as secret_keys;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

const SETTLE: Duration = Duration::from_secs(120);

/// Runs the approvals part on its own local mode (gated, ServiceNow simulator) and returns what
/// it printed.
pub async fn run(examples_dir: &Path) -> Result<String, DemoError> {
    let data_dir =
        std::env::temp_dir().join(format!("loadout-demo-approvals-{}", uuid::Uuid::new_v4()));
    let mut options = LocalOptions::new(data_dir.clone(), examples_dir.to_path_buf());
    options.addr = SocketAddr::from(([127, 0, 0, 1], 0));
    options.mode = Some(Mode::Gated);
    options.uem_requests_per_minute = Some(1200);
    options.servicenow = ServiceNowTarget::Simulator { adjust: None };
    let local = LocalMode::start(options).await?;
    let outcome = narrate(&local, examples_dir).await;
    local.shutdown().await;
    let _ = std::fs::remove_dir_all(&data_dir);
    outcome
}

async fn narrate(local: &LocalMode, examples_dir: &Path) -> Result<String, DemoError> {
    let mut out = String::new();
    let (Some(uem), Some(desk)) = (local.sim.as_ref(), local.servicenow_sim.as_ref()) else {
        return Err(DemoError::Unexpected(
            "the approvals demo needs the UEM and ServiceNow simulators".into(),
        ));
    };
    let file = examples_dir.join("events").join("01-joiner.json");
    let body =
        std::fs::read(&file).map_err(|e| DemoError::Read(format!("{}: {e}", file.display())))?;
    let event: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| DemoError::Read(e.to_string()))?;
    let user = event["employee"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let secret = local
        .services
        .secrets
        .get(secret_keys::HRIS_HMAC_SECRET)
        .await
        .map_err(|e| DemoError::Read(e.to_string()))?
        .ok_or_else(|| DemoError::Unexpected("no HR signing secret".into()))?;
    let sender = HrisSender::new(&local.base_url, secret.expose())?;
    let _ = writeln!(
        out,
        "\n== Approvals: the same joiner ({user}) on a fresh tenant, in gated mode with ServiceNow =="
    );
    let sent = sender
        .send(&body, "demo-approvals-joiner")
        .await
        .map_err(|e| DemoError::Unexpected(e.to_string()))?;
    if sent.status != 202 {
        return Err(DemoError::Unexpected(format!(
            "the joiner was answered {}: {}",
            sent.status, sent.body
        )));
    }
    settle(local).await?;
    let requests = records(local).await?;
    let mut by_app: BTreeMap<AppId, Vec<&ApprovalRecord>> = BTreeMap::new();
    for r in &requests {
        by_app.entry(r.app_id().clone()).or_default().push(r);
    }
    if by_app.len() < 2 {
        return Err(DemoError::Unexpected(format!(
            "expected two licensed apps held for approval, found {}",
            by_app.len()
        )));
    }
    let names: Vec<String> = by_app.keys().map(|a| a.to_string()).collect();
    let _ = writeln!(
        out,
        "Low-risk apps ran; {} licensed or high-risk app(s) wait for approval, {} ServiceNow request(s), one per device:\n    {}",
        by_app.len(),
        requests.len(),
        names.join(", ")
    );
    // The sample's two sales tools when the policies hold them, else the first two.
    let pick = |preferred: &str, not: Option<&AppId>| {
        by_app
            .keys()
            .find(|a| a.as_str() == preferred && Some(*a) != not)
            .or_else(|| by_app.keys().find(|a| Some(*a) != not))
            .cloned()
    };
    let (Some(approve_app), reject_app) = (pick("salesforce", None), None::<AppId>) else {
        return Err(DemoError::Unexpected("no app to approve".into()));
    };
    let reject_app = reject_app
        .or_else(|| pick("gong", Some(&approve_app)))
        .ok_or_else(|| DemoError::Unexpected("no app to reject".into()))?;
    let approve = (approve_app.clone(), by_app[&approve_app].clone());
    let reject = (reject_app.clone(), by_app[&reject_app].clone());
    for r in &approve.1 {
        desk.approve(&r.request_id, "it.approver")
            .await
            .map_err(|e| DemoError::Unexpected(e.to_string()))?;
    }
    for r in &reject.1 {
        desk.reject(&r.request_id, "it.approver")
            .await
            .map_err(|e| DemoError::Unexpected(e.to_string()))?;
    }
    let _ = writeln!(
        out,
        "\nThe approver approves {} and rejects {}; ServiceNow's flow calls back POST /approvals/servicenow.",
        approve.0, reject.0
    );
    settle(local).await?;
    let decided: Vec<ApprovalRecord> = records(local)
        .await?
        .into_iter()
        .filter(|r| r.app_id() == &approve.0 || r.app_id() == &reject.0)
        .collect();
    render(&mut out, &decided);
    let held = uem.effective_apps(&user);
    let in_uem = |app: &AppId| {
        local
            .examples
            .catalog
            .get(app)
            .is_some_and(|a| held.contains_key(&a.uem_app_id))
    };
    let _ = writeln!(
        out,
        "In UEM for {user}: {} {}, {} {}; ServiceNow tickets opened: {}.",
        approve.0,
        if in_uem(&approve.0) {
            "assigned"
        } else {
            "NOT assigned"
        },
        reject.0,
        if in_uem(&reject.0) {
            "ASSIGNED"
        } else {
            "not assigned"
        },
        desk.tickets().len()
    );
    Ok(out)
}

async fn settle(local: &LocalMode) -> Result<(), DemoError> {
    if local.wait_idle(SETTLE).await {
        Ok(())
    } else {
        Err(DemoError::Unexpected(format!(
            "the pipeline did not settle:\n{}",
            local.diagnostics().await
        )))
    }
}

async fn records(local: &LocalMode) -> Result<Vec<ApprovalRecord>, DemoError> {
    store::list(local.services.store.as_ref(), None)
        .await
        .map_err(|e| DemoError::Read(e.to_string()))
}

fn render(out: &mut String, records: &[ApprovalRecord]) {
    let now = chrono::Utc::now();
    for r in records {
        let line = ApprovalLine::of(r, now);
        let _ = writeln!(
            out,
            "  {:<11} {:<10} device {:<6} {:<27} ticket {}",
            line.app_id,
            line.user_id,
            line.device_id,
            line.state,
            line.ticket.as_deref().unwrap_or("-")
        );
    }
}
