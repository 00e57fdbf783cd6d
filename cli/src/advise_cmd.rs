//! `loadout advise USER`: asks the configured LLM adviser about one person of a data directory
//! (org.csv, devices.csv, usage.csv, catalog.yaml, policies/), or with `--dry-run` shows exactly
//! what would be sent, pseudonymized, without sending it.

use chrono::Utc;
use loadout::adapters::local::LocalSecrets;
use loadout::advisor::{
    AdviceRequest, AdviserKind, AdviserSettings, PROMPT_VERSION, PeerUsage, Pseudonymizer,
    adviser_from_settings, build_call, env,
};
use loadout::domain::org::{parse_devices, parse_org, parse_usage};
use loadout::domain::{Catalog, UserContext, UserId};
use loadout::policy::PolicyEngine;
use loadout::ports::Secrets;
use serde_json::{Value, json};
use std::path::Path;

const COHORT: &str = "department, title and location";

fn read(dir: &Path, name: &str) -> Result<String, String> {
    let path = dir.join(name);
    std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))
}

/// The request for `user`, as the decision stage would build it from the same data: desired and
/// forbidden apps from the policies, current apps from usage, peers of the same department,
/// title and location.
pub fn request_from_dir(dir: &Path, user: &UserId) -> Result<AdviceRequest, String> {
    let org = parse_org(&read(dir, "org.csv")?).map_err(|e| e.to_string())?;
    let devices = parse_devices(&read(dir, "devices.csv")?).map_err(|e| e.to_string())?;
    let usage = parse_usage(&read(dir, "usage.csv")?).map_err(|e| e.to_string())?;
    let catalog = Catalog::from_yaml(&read(dir, "catalog.yaml")?).map_err(|e| e.to_string())?;
    let engine = PolicyEngine::load_dir(dir.join("policies")).map_err(|e| e.to_string())?;

    let employee = org
        .iter()
        .find(|e| &e.id == user)
        .ok_or_else(|| format!("no user {user} in org.csv"))?;
    let own_devices: Vec<_> = devices.into_iter().filter(|d| &d.user_id == user).collect();
    let own_usage = usage.get(user).cloned().unwrap_or_default();
    let context = UserContext {
        employee: employee.clone(),
        devices: own_devices.clone(),
        installed: Vec::new(),
        usage: own_usage.clone(),
        fetched_at: Utc::now(),
        uem_user: None,
        parked: None,
    };
    let is_manager = org.iter().any(|e| e.manager_id.as_ref() == Some(user));
    let desired = engine
        .desired_for(&context, is_manager, &catalog, Utc::now())
        .map_err(|e| e.to_string())?;
    let empty = Vec::new();
    let peers = org
        .iter()
        .filter(|e| {
            &e.id != user
                && e.department == employee.department
                && e.title == employee.title
                && e.location == employee.location
        })
        .map(|e| usage.get(&e.id).unwrap_or(&empty).as_slice());

    Ok(AdviceRequest::new(employee, &own_devices, &catalog)
        .with_current(
            own_usage
                .iter()
                .filter(|u| u.launches_30d > 0)
                .map(|u| u.app_id.clone()),
        )
        .with_desired(desired.entitlements.iter().map(|e| e.app_id.clone()))
        .with_forbidden(desired.denials.iter().map(|d| d.app_id.clone()))
        .with_peers(PeerUsage::count(COHORT, peers)))
}

/// What `--dry-run` prints: the Converse body, its hash and the prompt version. The pseudonym
/// key comes from `LOADOUT_ADVISOR_PSEUDONYM_KEY`, or is a throwaway one.
pub async fn preview(request: &AdviceRequest, settings: &AdviserSettings) -> Result<Value, String> {
    let key = LocalSecrets::from_env()
        .get(env::PSEUDONYM_KEY)
        .await
        .map_err(|e| e.to_string())?
        .map(|k| k.expose().as_bytes().to_vec())
        .unwrap_or_else(|| rand::random::<[u8; 32]>().to_vec());
    let pseudonymizer = Pseudonymizer::new(&key).map_err(|e| e.to_string())?;
    let model_id = settings
        .model_id
        .clone()
        .unwrap_or_else(|| format!("<{} unset>", env::MODEL_ID));
    let subject = pseudonymizer.pseudonym(request.user_id());
    Ok(
        match build_call(request, &subject, &model_id, settings.limits) {
            None => json!({"prompt_version": PROMPT_VERSION, "sent": null,
                       "why": "nothing left to offer: every catalog app is current, desired or forbidden"}),
            Some(call) => json!({
                "prompt_version": PROMPT_VERSION,
                "model_id": model_id,
                "request_sha256": call.sha256(),
                "body": call.wire_json(),
            }),
        },
    )
}

/// Asks the configured adviser; prints the advice, or the rejection and the record.
pub async fn advise(request: &AdviceRequest, settings: &AdviserSettings) -> Result<Value, String> {
    Ok(ask(request, settings).await?.0)
}

/// [`advise`], also giving back the advice itself when the reply passed validation.
pub async fn ask(
    request: &AdviceRequest,
    settings: &AdviserSettings,
) -> Result<(Value, Option<loadout::advisor::Advice>), String> {
    if settings.kind == AdviserKind::Off {
        return Err(format!(
            "the adviser is off: set {}=bedrock and {} (or use --dry-run)",
            env::ADVISOR,
            env::MODEL_ID
        ));
    }
    let adviser = adviser_from_settings(settings, &LocalSecrets::from_env())
        .await
        .map_err(|e| e.to_string())?;
    match adviser.advise(request).await {
        Ok(advice) => Ok((
            serde_json::to_value(&advice).map_err(|e| e.to_string())?,
            Some(advice),
        )),
        Err(err) => Ok((
            json!({
                "recommendations": [],
                "error": {"code": err.audit_code(), "message": err.to_string(),
                          "rejection": err.rejection()},
                "record": err.record(),
            }),
            None,
        )),
    }
}

/// Keeps the advice as recommendations (origin `adviser`) in the target's state, where
/// `loadout recommendations` lists them for an admin to approve or reject.
pub async fn keep(
    target: &crate::target::Target,
    examples: &Path,
    user: &UserId,
    advice: &loadout::advisor::Advice,
) -> Result<Vec<String>, String> {
    let catalog =
        Catalog::from_yaml(&read(examples, "catalog.yaml")?).map_err(|e| e.to_string())?;
    let services = crate::target::services(target)
        .await
        .map_err(|e| e.to_string())?;
    let kept = loadout::stages::suggestions::record_advice(
        services.store.as_ref(),
        &catalog,
        user,
        advice,
        Utc::now(),
    )
    .await
    .map_err(|e| e.to_string())?;
    Ok(kept.into_iter().map(|r| r.id).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_dry_run_of_a_sample_user_sends_the_cohort_but_nothing_personal() {
        let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
        let user = UserId::new("jrivera");
        let request = request_from_dir(&examples, &user).expect("request");
        let out = preview(&request, &AdviserSettings::default())
            .await
            .expect("preview");
        let body = out["body"].to_string().to_lowercase();
        for personal in request.personal_strings() {
            assert!(!body.contains(&personal.to_lowercase()), "{personal}");
        }
        assert!(body.contains("account executive"));
        assert_eq!(out["request_sha256"].as_str().map(str::len), Some(64));
        // One other Account Executive in Austin: too few for their counts to be sent...
        assert!(!body.contains("peer_usage"));
        // ...unless the threshold allows it.
        let mut settings = AdviserSettings::default();
        settings.limits.min_peer_cohort = 1;
        let out = preview(&request, &settings).await.expect("preview");
        assert!(out["body"].to_string().contains("peer_usage"));
    }
}
