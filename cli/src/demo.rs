//! `loadout demo`: starts local mode with the UEM simulator on a fresh data directory, replays the
//! sample HR events (a joiner, a duplicate delivery, a forged request, a mover, a leaver) over
//! HTTP, and prints each decision with its reasons and what UEM holds afterwards; then one
//! license reclamation with its notice and the savings report.

use crate::hris_sender::HrisSender;
use crate::local::{LocalError, LocalMode, LocalOptions};
use loadout::domain::{AuditKind, Decision, UserId};
use loadout::governance::Mode;
use loadout::keys;
use loadout::ports::queue::names;
use loadout::ports::secrets::keys as secret_keys;
use loadout::ports::{AuditQuery, StateStoreExt};
use serde_json::Value;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    Local(#[from] LocalError),
    #[error("sample events in {dir}: {message}")]
    Events { dir: String, message: String },
    #[error("sending an event: {0}")]
    Send(#[from] crate::hris_sender::SendError),
    #[error("reading the outcome: {0}")]
    Read(String),
    #[error("the pipeline did not settle within {0:?}")]
    Timeout(Duration),
    #[error("the demo went wrong: {0}")]
    Unexpected(String),
}

pub struct DemoOptions {
    pub examples_dir: PathBuf,
    pub mode: Mode,
}

struct SampleEvent {
    file: String,
    body: Vec<u8>,
    kind: String,
    user: String,
}

const SETTLE: Duration = Duration::from_secs(60);

fn load_events(dir: &std::path::Path) -> Result<Vec<SampleEvent>, DemoError> {
    let err = |message: String| DemoError::Events {
        dir: dir.display().to_string(),
        message,
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| err(e.to_string()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut events = Vec::new();
    for path in files {
        let body = std::fs::read(&path).map_err(|e| err(e.to_string()))?;
        let value: Value = serde_json::from_slice(&body).map_err(|e| err(e.to_string()))?;
        let kind = value["type"].as_str().unwrap_or("").to_owned();
        let user = value["employee"]["id"].as_str().unwrap_or("").to_owned();
        if kind.is_empty() || user.is_empty() {
            return Err(err(format!(
                "{} has no type or employee.id",
                path.display()
            )));
        }
        events.push(SampleEvent {
            file: path
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default(),
            body,
            kind,
            user,
        });
    }
    if events.is_empty() {
        return Err(err("no *.json events".into()));
    }
    Ok(events)
}

/// Runs the demo and returns what it printed.
pub async fn run(options: DemoOptions) -> Result<String, DemoError> {
    let data_dir = std::env::temp_dir().join(format!("loadout-demo-{}", uuid::Uuid::new_v4()));
    let mut local_options = LocalOptions::new(data_dir.clone(), options.examples_dir.clone());
    local_options.addr = SocketAddr::from(([127, 0, 0, 1], 0));
    local_options.mode = Some(options.mode);
    // The demo's simulator allows 1,200 calls a minute (a real tenant: about 120-180) so that it
    // finishes in seconds; the call counts it prints are what matters.
    local_options.uem_requests_per_minute = Some(1200);
    let local = LocalMode::start(local_options).await?;
    let outcome = narrate(&local, &options).await;
    local.shutdown().await;
    let _ = std::fs::remove_dir_all(&data_dir);
    let mut out = outcome?;
    // Approvals need gated mode and ServiceNow: their own short run on a fresh directory.
    out.push_str(&crate::demo_approvals::run(&options.examples_dir).await?);
    Ok(out)
}

async fn narrate(local: &LocalMode, options: &DemoOptions) -> Result<String, DemoError> {
    let mut out = String::new();
    let sim = local
        .sim
        .as_ref()
        .ok_or_else(|| DemoError::Unexpected("the demo needs the simulator".into()))?;
    let events = load_events(&options.examples_dir.join("events"))?;
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
        "Loadout demo: local mode on 127.0.0.1 with the UEM simulator, mode {}",
        options.mode.as_str()
    );
    let _ = writeln!(
        out,
        "Policy set {} is active. Replaying {} sample HR event(s) from {}.\n",
        local.policy_version,
        events.len(),
        options.examples_dir.join("events").display()
    );
    // The joiners of the sample events are not part of the organization yet.
    let joiners: Vec<&str> = events
        .iter()
        .filter(|e| e.kind == "joiner")
        .map(|e| e.user.as_str())
        .collect();
    let directory: Vec<UserId> = local
        .examples
        .org
        .iter()
        .map(|e| e.id.clone())
        .filter(|id| !joiners.contains(&id.as_str()))
        .collect();
    let _ = writeln!(
        out,
        "== 0. first reconciliation of the directory ({} users) ==",
        directory.len()
    );
    loadout::stages::resync::enqueue(&local.services, &directory, "initial reconciliation")
        .await
        .map_err(|e| DemoError::Unexpected(e.to_string()))?;
    if !local.wait_idle(Duration::from_secs(180)).await {
        return Err(DemoError::Timeout(Duration::from_secs(180)));
    }
    let assignments: usize = directory
        .iter()
        .map(|u| sim.effective_apps(u.as_str()).len())
        .sum();
    let groups = sim
        .groups()
        .iter()
        .filter(|g| g.name.starts_with("loadout:"))
        .count();
    let _ = writeln!(
        out,
        "{assignments} app assignments for {} users through {groups} Loadout smart groups, in {} UEM calls.",
        directory.len(),
        sim.calls().len()
    );
    let _ = writeln!(
        out,
        "(One membership change per user and app would take at least {} calls.)",
        2 * assignments
    );
    let mut by_kind: Vec<(String, usize)> = sim.counts().into_iter().collect();
    by_kind.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let breakdown: Vec<String> = by_kind.iter().map(|(k, n)| format!("{n} {k}")).collect();
    let _ = writeln!(out, "UEM calls by kind: {}\n", breakdown.join(", "));
    let mut step = 0;
    let mut users = Vec::new();
    for (i, event) in events.iter().enumerate() {
        step += 1;
        let _ = writeln!(
            out,
            "== {step}. {} event for {} ({}) ==",
            event.kind, event.user, event.file
        );
        let webhook_id = format!("demo-{}", event.file);
        let before = sim.mutation_count();
        let sent = sender.send(&event.body, &webhook_id).await?;
        let _ = writeln!(out, "POST /webhooks/hris -> {}", sent.status);
        if sent.status != 202 {
            return Err(DemoError::Unexpected(format!(
                "expected 202, got {}: {}",
                sent.status, sent.body
            )));
        }
        if !local.wait_idle(SETTLE).await {
            return Err(DemoError::Timeout(SETTLE));
        }
        let user = UserId::new(&event.user);
        describe_outcome(&mut out, local, &user, &sent.body).await?;
        let _ = writeln!(
            out,
            "UEM calls that changed something: {}",
            sim.mutation_count() - before
        );
        let _ = writeln!(
            out,
            "UEM now gives {}: {}\n",
            event.user,
            apps_of(sim, &event.user)
        );
        if !users.contains(&event.user) {
            users.push(event.user.clone());
        }
        if i == 0 {
            step += 1;
            let _ = writeln!(out, "== {step}. the same joiner event delivered again ==");
            let before = sim.mutation_count();
            let again = sender.send(&event.body, &webhook_id).await?;
            let same = again.body == sent.body;
            let _ = writeln!(
                out,
                "POST /webhooks/hris (same webhook-id) -> {}, {} ids",
                again.status,
                if same { "the original" } else { "DIFFERENT" }
            );
            if !local.wait_idle(SETTLE).await {
                return Err(DemoError::Timeout(SETTLE));
            }
            let _ = writeln!(
                out,
                "UEM calls that changed something: {} (a duplicate changes nothing)\n",
                sim.mutation_count() - before
            );
            step += 1;
            let _ = writeln!(out, "== {step}. a request signed with the wrong key ==");
            let forged = sender.send_forged(&event.body, "demo-forged").await?;
            let _ = writeln!(
                out,
                "POST /webhooks/hris -> {} {}",
                forged.status, forged.body
            );
            let rejected = local
                .services
                .audit
                .query(&AuditQuery::default())
                .await
                .map_err(|e| DemoError::Read(e.to_string()))?
                .into_iter()
                .filter(|r| r.kind == AuditKind::EventRejected)
                .count();
            let _ = writeln!(out, "Audit records of refused requests: {rejected}\n");
        }
    }
    if let Some(directory) = &local.directory_sim {
        step += 1;
        let user = graph_membership_step(&mut out, local, directory, step).await?;
        users.push(user);
    }
    step += 1;
    let _ = writeln!(
        out,
        "== {step}. license reclamation: an unused Gong seat =="
    );
    match crate::demo_reclaim::reclaim_one(local)
        .await
        .map_err(DemoError::Unexpected)?
    {
        Some(r) => {
            let apps = apps_of(sim, r.user.as_str());
            let _ = writeln!(out, "{}", crate::demo_reclaim::render(&r, &apps));
        }
        None => {
            let _ = writeln!(out, "nobody in the sample holds Gong without using it\n");
        }
    }
    let _ = writeln!(
        out,
        "== What UEM holds now (from the simulator's smart groups and assignments) =="
    );
    for user in &users {
        let _ = writeln!(out, "{user}: {}", apps_of(sim, user));
    }
    let dead = local
        .services
        .queue
        .depth(&names::dead_letter(names::EXECUTE))
        .await
        .unwrap_or(0);
    let _ = writeln!(
        out,
        "\nDead-lettered actions: {dead}. UEM calls made: {}.",
        sim.calls().len()
    );
    Ok(out)
}

/// An Entra ID group change: Graph's notification names the group and the member by object id
/// only, so Loadout reads the person from Graph before deciding.
async fn graph_membership_step(
    out: &mut String,
    local: &LocalMode,
    directory: &directory_sim::DirectorySim,
    step: usize,
) -> Result<String, DemoError> {
    let sim = local
        .sim
        .as_ref()
        .ok_or_else(|| DemoError::Unexpected("the demo needs the simulator".into()))?;
    let user = local
        .examples
        .org
        .iter()
        .find(|e| e.department == "Engineering" && !e.groups.iter().any(|g| g == "pilot"))
        .map(|e| e.id.to_string())
        .ok_or_else(|| DemoError::Unexpected("no Engineering user outside the pilot".into()))?;
    let _ = writeln!(
        out,
        "== {step}. Entra ID: {user} is added to the group \"pilot\" (Microsoft Graph notification) =="
    );
    let before_apps = sim.effective_app_names(&user).len();
    directory.update(&user, |p| p.groups.push("pilot".into()));
    let (group, member) = directory
        .graph_group_id("pilot")
        .zip(directory.graph_id(&user))
        .ok_or_else(|| DemoError::Unexpected("the directory simulator lacks ids".into()))?;
    let client_state = local
        .services
        .secrets
        .get(secret_keys::GRAPH_CLIENT_STATE)
        .await
        .map_err(|e| DemoError::Read(e.to_string()))?
        .ok_or_else(|| DemoError::Unexpected("no Graph clientState".into()))?;
    let body = serde_json::json!({"value": [{
        "id": "demo-group-change", "subscriptionId": "demo-subscription",
        "clientState": client_state.expose(), "changeType": "updated",
        "resource": format!("Groups/{group}"), "tenantId": directory.graph.tenant_id,
        "resourceData": {"@odata.type": "#Microsoft.Graph.Group", "@odata.id": format!("Groups/{group}"),
                         "id": group, "members@delta": [{"id": member}]}
    }]});
    let reads_before = directory.calls().len();
    let status = reqwest::Client::new()
        .post(format!("{}/webhooks/graph", local.base_url))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .map_err(|e| DemoError::Unexpected(format!("POST /webhooks/graph: {e}")))?
        .status();
    let _ = writeln!(
        out,
        "POST /webhooks/graph (ids only: Groups/{group}, members@delta [{member}]) -> {}",
        status.as_u16()
    );
    if !local.wait_idle(SETTLE).await {
        return Err(DemoError::Timeout(SETTLE));
    }
    let reads: Vec<String> = directory.calls()[reads_before..]
        .iter()
        .filter(|c| !c.contains("oauth2"))
        .map(|c| c.replace(&member, "{id}"))
        .collect();
    let _ = writeln!(
        out,
        "Loadout read the person from Graph: {}",
        reads.join(", ")
    );
    let after_apps = sim.effective_app_names(&user).len();
    let _ = writeln!(
        out,
        "Apps in UEM for {user}: {before_apps} before, {after_apps} now"
    );
    let _ = writeln!(out, "UEM now gives {user}: {}\n", apps_of(sim, &user));
    Ok(user)
}

/// What UEM gives a user, split by delivery and wrapped for a terminal.
fn apps_of(sim: &uem_sim::SimHandle, user: &str) -> String {
    let apps = sim.effective_app_names(user);
    if apps.is_empty() {
        return "nothing".into();
    }
    let (pushed, offered): (Vec<_>, Vec<_>) = apps
        .iter()
        .partition(|(_, mode)| mode.as_v2().eq_ignore_ascii_case("AUTO"));
    let mut out = format!(
        "{} pushed, {} offered in the Hub",
        pushed.len(),
        offered.len()
    );
    let pushed: Vec<&str> = pushed.into_iter().map(|(n, _)| n.as_str()).collect();
    let offered: Vec<&str> = offered.into_iter().map(|(n, _)| n.as_str()).collect();
    for (label, list) in [("pushed", pushed), ("offered", offered)] {
        if !list.is_empty() {
            out.push_str(&wrap(&format!("\n    {label}: "), &list));
        }
    }
    out
}

fn wrap(prefix: &str, words: &[&str]) -> String {
    let mut out = prefix.to_owned();
    let mut line = prefix.trim_start_matches('\n').len();
    for (i, word) in words.iter().enumerate() {
        let piece = if i + 1 == words.len() {
            word.to_string()
        } else {
            format!("{word}, ")
        };
        if line + piece.len() > 100 {
            while out.ends_with(' ') {
                out.pop();
            }
            out.push_str("\n             ");
            line = 13;
        }
        line += piece.len();
        out.push_str(&piece);
    }
    out
}

/// Prints the decision and the actions that the event caused.
async fn describe_outcome(
    out: &mut String,
    local: &LocalMode,
    user: &UserId,
    accepted: &Value,
) -> Result<(), DemoError> {
    let store = local.services.store.as_ref();
    let correlation = accepted["correlation_id"].as_str().unwrap_or_default();
    let (pk, sk) = keys::decision(user, correlation);
    let decision: Option<(Decision, u64)> = store
        .get_as(&pk, &sk)
        .await
        .map_err(|e| DemoError::Read(e.to_string()))?;
    let Some((decision, _)) = decision else {
        let _ = writeln!(out, "No decision was recorded for this event.");
        return Ok(());
    };
    let _ = writeln!(
        out,
        "Decision: {} app(s) desired, {} denied by guardrails",
        decision.desired.len(),
        decision.denied.len()
    );
    for e in &decision.desired {
        let why = e
            .reasons
            .iter()
            .map(|r| format!("{} \"{}\"", r.rule_id, r.text))
            .collect::<Vec<_>>()
            .join("; ");
        let _ = writeln!(
            out,
            "  want  {:<22} {:<9} {why}",
            e.app_id.as_str(),
            e.push_mode.as_str()
        );
    }
    for d in &decision.denied {
        let why = d
            .reasons
            .iter()
            .map(|r| format!("{} \"{}\"", r.rule_id, r.text))
            .collect::<Vec<_>>()
            .join("; ");
        let _ = writeln!(out, "  deny  {:<22} {:<9} {why}", d.app_id.as_str(), "-");
    }
    let records = local
        .services
        .audit
        .query(&AuditQuery::correlation(&decision.correlation_id))
        .await
        .map_err(|e| DemoError::Read(e.to_string()))?;
    let mut planned: Vec<String> = records
        .iter()
        .filter(|r| r.kind == AuditKind::ActionPlanned)
        .map(|r| format!("  {}", r.summary))
        .collect();
    planned.sort();
    let _ = writeln!(out, "Actions ({}):", planned.len());
    for line in planned {
        let _ = writeln!(out, "{line}");
    }
    Ok(())
}
