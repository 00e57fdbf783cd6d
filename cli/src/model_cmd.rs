//! `loadout model recommend` and `loadout model eval`: the relevance model on a tenant's files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use loadout::domain::{AppId, Population, UserId};
use loadout::policy::{CatalogFacts, FleetMember, PolicyError};
use loadout::relevance::{EvalOptions, Evaluation, ModelParams, RelevanceModel};
use serde::Serialize;

use crate::output::table;
use crate::progress::Progress;
use crate::tenant_files::{self, FileError};

#[derive(Debug, thiserror::Error)]
pub enum ModelCmdError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error("deciding what the policies forbid: {0}")]
    Policy(#[from] PolicyError),
    #[error(transparent)]
    Model(#[from] loadout::relevance::RelevanceError),
}

/// Guardrails for `recommend`: the policies whose forbids a recommendation must respect (and
/// whose pushed apps need no recommendation), and the catalog (only catalog apps can be
/// recommended: Loadout can assign nothing else).
pub struct Guardrails {
    pub policies: PathBuf,
    pub catalog: PathBuf,
    pub devices: Option<PathBuf>,
    pub at: DateTime<Utc>,
}

pub struct RecommendOptions {
    pub org: PathBuf,
    pub usage: PathBuf,
    pub k: usize,
    /// Only this user.
    pub user: Option<UserId>,
    /// `None`: no policies, every app of the usage records may be recommended.
    pub guardrails: Option<Guardrails>,
}

/// One line of `model recommend --json`: exactly the fields DESIGN.md names.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecommendationView {
    pub app_id: AppId,
    pub score: f64,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Recommendations {
    pub model_version: String,
    pub by_user: BTreeMap<UserId, Vec<RecommendationView>>,
}

pub fn recommend(options: &RecommendOptions) -> Result<Recommendations, ModelCmdError> {
    if options.k == 0 {
        return Err(loadout::relevance::RelevanceError::ZeroK.into());
    }
    let org = tenant_files::org(&options.org)?;
    let usage = tenant_files::usage(&options.usage)?;
    let model = RelevanceModel::train(&org, &usage, ModelParams::default());
    let forbidden = match &options.guardrails {
        Some(g) => Some(forbidden_by_policy(g, org.clone())?),
        None => None,
    };
    let excluded = |user: &UserId, app: &AppId| {
        forbidden.as_ref().is_some_and(|(catalog_apps, by_user)| {
            !catalog_apps.contains(app) || by_user.get(user).is_some_and(|f| f.contains(app))
        })
    };
    let mut by_user = BTreeMap::new();
    for user in model.users() {
        if options.user.as_ref().is_some_and(|only| only != user) {
            continue;
        }
        let recs = model.recommend(user, options.k, &|app| excluded(user, app))?;
        by_user.insert(
            user.clone(),
            recs.into_iter()
                .map(|r| RecommendationView {
                    app_id: r.app_id,
                    score: (r.score * 10_000.0).round() / 10_000.0,
                    reason: r.reason,
                })
                .collect(),
        );
    }
    if let Some(user) = &options.user
        && !by_user.contains_key(user)
    {
        return Err(loadout::relevance::RelevanceError::UnknownUser(user.clone()).into());
    }
    Ok(Recommendations {
        model_version: model.version().to_owned(),
        by_user,
    })
}

type Forbidden = (BTreeSet<AppId>, BTreeMap<UserId, BTreeSet<AppId>>);

/// The catalog's apps, and per user the apps a forbid keeps from them on every device or that
/// the policies already push to them.
fn forbidden_by_policy(
    guardrails: &Guardrails,
    org: Vec<loadout::domain::Employee>,
) -> Result<Forbidden, ModelCmdError> {
    let engine = tenant_files::policies(&guardrails.policies)?;
    let catalog = tenant_files::catalog(&guardrails.catalog)?;
    let devices = match &guardrails.devices {
        Some(path) => tenant_files::devices(path)?,
        None => Vec::new(),
    };
    let population = Population::new(org, devices);
    let members = FleetMember::all(&population);
    let facts = CatalogFacts::new(&catalog)?;
    let progress = Progress::on_terminal();
    let fleet = engine.forbidden_for_fleet(&members, &facts, guardrails.at, &|p| {
        progress.update("guardrails", p.done, p.total)
    })?;
    progress.finish();
    let by_user = members
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let mut excluded = fleet.forbidden(i).clone();
            excluded.extend(fleet.pushed(i).iter().cloned());
            (m.employee.id.clone(), excluded)
        })
        .collect();
    let catalog_apps = catalog.apps().map(|a| a.id.clone()).collect();
    Ok((catalog_apps, by_user))
}

pub fn recommendations_json(recs: &Recommendations) -> Result<String, serde_json::Error> {
    serde_json::to_string_pretty(&recs.by_user)
}

pub fn recommendations_text(recs: &Recommendations) -> String {
    let mut rows = Vec::new();
    for (user, list) in &recs.by_user {
        for (n, r) in list.iter().enumerate() {
            rows.push(vec![
                if n == 0 {
                    user.to_string()
                } else {
                    String::new()
                },
                r.app_id.to_string(),
                format!("{:.3}", r.score),
                r.reason.clone(),
            ]);
        }
    }
    format!(
        "{}model {}\n",
        table(&["user", "app", "score", "evidence"], &rows),
        recs.model_version
    )
}

pub struct EvalCmdOptions {
    pub org: PathBuf,
    pub usage: PathBuf,
    pub eval: EvalOptions,
}

pub fn eval(options: &EvalCmdOptions) -> Result<Evaluation, ModelCmdError> {
    let org = tenant_files::org(&options.org)?;
    let usage = tenant_files::usage(&options.usage)?;
    Ok(loadout::relevance::evaluate(&org, &usage, &options.eval)?)
}

/// `model eval --json`: the evaluation and the model's recall over the baseline's.
pub fn evaluation_json(eval: &Evaluation) -> Result<String, serde_json::Error> {
    let mut value = serde_json::to_value(eval)?;
    if let Some(object) = value.as_object_mut() {
        object.insert("recall_lift".into(), serde_json::json!(eval.recall_lift()));
    }
    serde_json::to_string_pretty(&value)
}

pub fn evaluation_text(eval: &Evaluation) -> String {
    let k = eval.k;
    let rows = vec![
        vec![
            "relevance model".to_owned(),
            format!("{:.3}", eval.model.precision_at_k),
            format!("{:.3}", eval.model.recall_at_k),
            eval.model.hits.to_string(),
        ],
        vec![
            "popularity baseline".to_owned(),
            format!("{:.3}", eval.popularity.precision_at_k),
            format!("{:.3}", eval.popularity.recall_at_k),
            eval.popularity.hits.to_string(),
        ],
    ];
    let precision = format!("precision@{k}");
    let recall = format!("recall@{k}");
    let lift = eval
        .recall_lift()
        .map_or_else(|| "n/a".to_owned(), |l| format!("{l:.2}x"));
    format!(
        "{} users, {} held-out apps ({:.0}% of each user's optional apps in use, seed {})\n{}recall lift over popularity: {lift}; model {}\n",
        eval.users,
        eval.held_out,
        eval.holdout * 100.0,
        eval.seed,
        table(&["ranker", &precision, &recall, "hits"], &rows),
        eval.model_version
    )
}
