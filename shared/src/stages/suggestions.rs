//! Suggestions: optional apps the relevance model thinks a person would use, learned from what
//! their peers use. They are recommendations (origin `model`), never actions: an admin approves
//! or rejects them (`loadout recommendations`), and an approved one joins the person's desired
//! set at their next decision, where it passes the same gates as any other assignment, unless a
//! forbid now keeps the app from them.
//!
//! The sweep refreshes them when due (`LOADOUT_SUGGEST_HOURS`): it trains the model on the
//! directory and Loadout's usage memory, evaluates the active policies once per cohort to learn
//! what each person is already granted or forbidden, and writes the top few per person.

use super::recommendations::{self, Origin, Recommendation, State};
use super::{Services, StageError, population};
use crate::domain::{
    Action, ActionKind, AppId, Catalog, CorrelationId, Decision, Entitlement, Population, PushMode,
    Reason, UserContext, UserId,
};
use crate::governance::Gate;
use crate::keys;
use crate::policy::{CatalogFacts, FleetMember, PolicyEngine};
use crate::ports::{Condition, StateStore};
use crate::relevance::{ModelParams, RelevanceModel};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

use super::policy_repo::PolicySetRecord;

/// The rule id of an entitlement that comes from an approved suggestion of the model.
pub const MODEL_RULE: &str = "loadout:relevance-model";
/// The rule id of an entitlement that comes from an approved suggestion of the adviser.
pub const ADVISER_RULE: &str = "loadout:adviser";

/// How many suggestions per person, and how sure the model must be.
#[derive(Debug, Clone)]
pub struct SuggestOptions {
    pub per_user: usize,
    /// Suggestions scoring below this are not worth an admin's time.
    pub min_score: f64,
    pub params: ModelParams,
}

impl Default for SuggestOptions {
    fn default() -> Self {
        Self {
            per_user: 3,
            min_score: 0.3,
            params: ModelParams::default(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct SuggestReport {
    pub model_version: String,
    /// People in the directory with usage the model learned from.
    pub users_with_usage: usize,
    /// New or refreshed open suggestions.
    pub suggested: usize,
    /// Open suggestions the model no longer makes (or the policies now grant or forbid).
    pub withdrawn: usize,
}

/// Adds the person's approved suggestions to their desired set (on demand: the app appears in
/// their Hub catalog), unless the policies deny the app now or already grant it, or it left the
/// catalog or supports none of the person's devices.
pub fn add_approved(
    decision: &mut Decision,
    held: &BTreeMap<(AppId, ActionKind), Recommendation>,
    catalog: &Catalog,
    context: Option<&UserContext>,
) {
    for ((app, kind), rec) in held {
        if *kind != ActionKind::Assign
            || rec.state != State::Approved
            || rec.origin == Origin::Policy
            || decision.entitlement(app).is_some()
            || decision.denied.iter().any(|d| &d.app_id == app)
        {
            continue;
        }
        let Some(entry) = catalog.get(app) else {
            continue;
        };
        let devices: Vec<String> = context
            .map(|c| {
                c.devices
                    .iter()
                    .filter(|d| entry.platforms.contains(&d.platform))
                    .map(|d| d.device_id.clone())
                    .collect()
            })
            .unwrap_or_default();
        if context.is_some_and(|c| !c.devices.is_empty()) && devices.is_empty() {
            continue;
        }
        let rule = match rec.origin {
            Origin::Adviser => ADVISER_RULE,
            _ => MODEL_RULE,
        };
        let by = rec.decided_by.as_deref().unwrap_or("an admin");
        decision.desired.push(Entitlement {
            app_id: app.clone(),
            push_mode: PushMode::OnDemand,
            reasons: vec![Reason {
                rule_id: rule.into(),
                text: format!(
                    "suggested ({}) and approved by {by}",
                    rec.evidence.as_deref().unwrap_or("peers use it")
                ),
            }],
            devices,
        });
    }
}

/// Trains the model and brings every person's open suggestions up to date.
#[tracing::instrument(skip_all)]
pub async fn refresh(
    services: &Services,
    policy: &PolicySetRecord,
    options: &SuggestOptions,
    now: DateTime<Utc>,
) -> Result<SuggestReport, StageError> {
    let store = services.store.as_ref();
    let employees = population::active_employees(store).await?;
    let usage = population::usage_of(store, &employees, now).await?;
    let model = RelevanceModel::train(&employees, &usage, options.params.clone());
    let engine = PolicyEngine::from_sources(&policy.schema, &policy.policies)
        .map_err(|e| StageError::Permanent(format!("the active policy set does not load: {e}")))?;
    let catalog = Catalog::from_yaml(&policy.catalog_yaml)
        .map_err(|e| StageError::Permanent(format!("the active catalog does not load: {e}")))?;
    let facts = CatalogFacts::new(&catalog)
        .map_err(|e| StageError::Permanent(format!("the active catalog: {e}")))?;
    let population = Population::new(employees, Vec::new());
    let members = FleetMember::all(&population);
    let quiet = |_| {};
    let guard = engine
        .forbidden_for_fleet(&members, &facts, now, &quiet)
        .map_err(|e| StageError::Permanent(format!("policies on the directory: {e}")))?;
    let fleet = engine
        .desired_for_fleet(&members, &facts, now, &quiet)
        .map_err(|e| StageError::Permanent(format!("policies on the directory: {e}")))?;

    let mut existing: BTreeMap<UserId, Vec<Recommendation>> = BTreeMap::new();
    for rec in recommendations::all(store).await? {
        existing
            .entry(rec.action.user_id.clone())
            .or_default()
            .push(rec);
    }
    let correlation = CorrelationId::new(format!("suggest-{}", model.version()));
    let mut report = SuggestReport {
        model_version: model.version().to_owned(),
        users_with_usage: usage.len(),
        ..SuggestReport::default()
    };
    for (index, member) in members.iter().enumerate() {
        let user = &member.employee.id;
        let granted: BTreeSet<&AppId> = fleet.entitled(index).map(|(app, _)| app).collect();
        let forbidden = guard.forbidden(index);
        let keep_out = |app: &AppId| {
            catalog.get(app).is_none() || granted.contains(app) || forbidden.contains(app)
        };
        // A person the model has no cohort for gets nothing, not an error.
        let ranked = model
            .recommend(user, options.per_user, &keep_out)
            .unwrap_or_default();
        let wanted: Vec<_> = ranked
            .into_iter()
            .filter(|r| r.score >= options.min_score)
            .collect();
        let theirs = existing.remove(user).unwrap_or_default();
        for suggestion in &wanted {
            let decided = theirs.iter().any(|r| {
                r.action.app_id == suggestion.app_id
                    && r.action.kind == ActionKind::Assign
                    && (r.state != State::Open || r.origin == Origin::Policy)
            });
            if decided {
                continue;
            }
            let action = suggested_action(
                user,
                &suggestion.app_id,
                &correlation,
                model.version(),
                &suggestion.reason,
                MODEL_RULE,
            );
            let gate = Gate::RecommendOnly {
                reason: format!("suggested by the relevance model: {}", suggestion.reason),
            };
            recommendations::hold(
                store,
                &action,
                &gate,
                Origin::Model,
                Some(suggestion.reason.clone()),
                now,
            )
            .await?;
            report.suggested += 1;
        }
        for stale in theirs.iter().filter(|r| {
            r.origin == Origin::Model
                && r.state == State::Open
                && !wanted.iter().any(|w| w.app_id == r.action.app_id)
        }) {
            withdraw(store, stale).await?;
            report.withdrawn += 1;
        }
    }
    // People no longer in the directory keep no open suggestions.
    for rec in existing.into_values().flatten() {
        if rec.origin == Origin::Model && rec.state == State::Open {
            withdraw(store, &rec).await?;
            report.withdrawn += 1;
        }
    }
    Ok(report)
}

fn suggested_action(
    user: &UserId,
    app: &AppId,
    correlation: &CorrelationId,
    model_version: &str,
    evidence: &str,
    rule: &str,
) -> Action {
    Action {
        action_id: Action::derive_id(correlation, user, app, ActionKind::Assign),
        correlation_id: correlation.clone(),
        user_id: user.clone(),
        app_id: app.clone(),
        kind: ActionKind::Assign,
        push_mode: PushMode::OnDemand,
        reasons: vec![Reason {
            rule_id: rule.into(),
            text: evidence.to_owned(),
        }],
        policy_version: model_version.to_owned(),
        sequence: 0,
        uem_user: None,
    }
}

/// Keeps the LLM adviser's answer for one person as recommendations (origin `adviser`), never
/// actions: an admin approves or rejects them like the model's, and an approved one passes the
/// same gates at the person's next decision. Apps outside the catalog (the adviser's reply was
/// validated against it, but the catalog may have changed since) and apps already decided for
/// the person are skipped. Returns the recommendations written.
pub async fn record_advice(
    store: &dyn StateStore,
    catalog: &Catalog,
    user: &UserId,
    advice: &crate::advisor::Advice,
    now: DateTime<Utc>,
) -> Result<Vec<Recommendation>, StageError> {
    let Some(record) = &advice.record else {
        return Ok(Vec::new());
    };
    let theirs = recommendations::of_user(store, user).await?;
    let correlation = CorrelationId::new(format!(
        "advice-{}",
        &record.request_sha256[..12.min(record.request_sha256.len())]
    ));
    let mut written = Vec::new();
    for rec in &advice.recommendations {
        if catalog.get(&rec.app_id).is_none() {
            continue;
        }
        let decided = theirs.iter().any(|(r, _)| {
            r.action.app_id == rec.app_id
                && r.action.kind == ActionKind::Assign
                && (r.state != State::Open || r.origin == Origin::Policy)
        });
        if decided {
            continue;
        }
        let action = suggested_action(
            user,
            &rec.app_id,
            &correlation,
            &record.model_id,
            &rec.reason,
            ADVISER_RULE,
        );
        let gate = Gate::RecommendOnly {
            reason: format!("suggested by the LLM adviser: {}", rec.reason),
        };
        written.push(
            recommendations::hold(
                store,
                &action,
                &gate,
                Origin::Adviser,
                Some(rec.reason.clone()),
                now,
            )
            .await?,
        );
    }
    Ok(written)
}

async fn withdraw(store: &dyn StateStore, rec: &Recommendation) -> Result<(), StageError> {
    let (pk, sk) = keys::recommendation(&rec.action.user_id, &rec.action.app_id, rec.action.kind);
    match store.delete(&pk, &sk, Condition::None).await {
        Ok(()) => Ok(()),
        Err(e) if e.is_condition_failed() => Ok(()),
        Err(e) => Err(e.into()),
    }
}
