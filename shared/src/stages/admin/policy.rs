//! `loadout policy push|versions|activate`: the policy lifecycle, audited. Activating a set
//! changes what every decision from now on uses; the sweep then re-evaluates the people whose
//! last decision was made under another version (once per cohort of people the policies cannot
//! tell apart is enough for the engine, but each person still gets their own decision).

use crate::domain::{AuditKind, AuditRecord, CorrelationId};
use crate::stages::policy_repo::{self, PolicySetRecord, VersionInfo};
use crate::stages::{Services, StageError};
use serde_json::json;

pub async fn versions(services: &Services) -> Result<Vec<VersionInfo>, StageError> {
    policy_repo::versions(services.store.as_ref()).await
}

/// Stores and activates a policy set, with an audit record naming who pushed it.
pub async fn push(services: &Services, record: &PolicySetRecord) -> Result<(), StageError> {
    let before = policy_repo::active(services.store.as_ref())
        .await?
        .map(|r| r.version);
    policy_repo::push(services.store.as_ref(), record).await?;
    audit(
        services,
        &record.version,
        before.as_deref(),
        &record.pushed_by,
        "pushed",
    )
    .await
}

/// Activates an earlier policy set; `None` when no stored set has that version.
pub async fn activate(
    services: &Services,
    version: &str,
    by: &str,
) -> Result<Option<PolicySetRecord>, StageError> {
    let before = policy_repo::active(services.store.as_ref())
        .await?
        .map(|r| r.version);
    let Some(record) = policy_repo::activate(services.store.as_ref(), version).await? else {
        return Ok(None);
    };
    audit(
        services,
        &record.version,
        before.as_deref(),
        by,
        "activated",
    )
    .await?;
    Ok(Some(record))
}

async fn audit(
    services: &Services,
    version: &str,
    before: Option<&str>,
    by: &str,
    verb: &str,
) -> Result<(), StageError> {
    services
        .audit(
            AuditRecord::new(
                services.clock.now(),
                CorrelationId::generate(),
                AuditKind::AdminDecision,
                "admin",
                format!(
                    "{by} {verb} policy set {version}{}; the next sweep re-evaluates everyone decided under another version",
                    before
                        .map(|b| format!(" (was {b})"))
                        .unwrap_or_default()
                ),
            )
            .policy(version, Vec::new())
            .detail(json!({"policy_version": version, "previous": before, "by": by})),
        )
        .await
}
