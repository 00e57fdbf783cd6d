//! `loadout recommendations list|approve|reject`: what the gates hold or suggest, and an admin's
//! verdict on it. A verdict is recorded on the recommendation (who, when, why) and in the audit;
//! an approval then re-evaluates the person, so the approved action runs through the decision
//! engine and the executor like any other (the gates see the approval; a forbid that applies now
//! still wins). A rejection stops the action: an objection during a review window, a no to an
//! approval or a suggestion.

use crate::domain::{AuditKind, AuditRecord, CorrelationId, UserId};
use crate::stages::recommendations::{self, Filter, Recommendation, State, Verdict};
use crate::stages::{Services, StageError, resync};
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeSet;

/// Which recommendations a verdict is for.
#[derive(Debug, Clone)]
pub enum Selection {
    Ids(Vec<String>),
    /// Every open recommendation the filter matches.
    Matching(Filter),
}

/// What a verdict did (or, in a dry run, would do).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Outcome {
    pub dry_run: bool,
    /// Recommendations that took the verdict.
    pub decided: Vec<Recommendation>,
    /// Ids that were already decided, with their state.
    pub unchanged: Vec<(String, String)>,
    /// Ids nobody knows.
    pub unknown: Vec<String>,
    /// The correlation id of the re-evaluation queued for the approved people.
    pub reevaluation: Option<CorrelationId>,
}

/// Every recommendation the filter matches, newest first.
pub async fn list(services: &Services, filter: &Filter) -> Result<Vec<Recommendation>, StageError> {
    let mut out: Vec<Recommendation> = recommendations::all(services.store.as_ref())
        .await?
        .into_iter()
        .filter(|r| filter.matches(r))
        .collect();
    out.sort_by(|a, b| b.updated_at.cmp(&a.updated_at).then(a.id.cmp(&b.id)));
    Ok(out)
}

/// Records `verdict` by `by` on the selected recommendations; approvals re-evaluate the people
/// they concern. Nothing is written in a dry run.
pub async fn act(
    services: &Services,
    selection: &Selection,
    verdict: Verdict,
    by: &str,
    note: Option<&str>,
    dry_run: bool,
) -> Result<Outcome, StageError> {
    let store = services.store.as_ref();
    let all = recommendations::all(store).await?;
    let mut outcome = Outcome {
        dry_run,
        ..Outcome::default()
    };
    let chosen: Vec<&Recommendation> = match selection {
        Selection::Ids(ids) => {
            let mut chosen = Vec::new();
            for id in ids {
                match all.iter().find(|r| &r.id == id) {
                    Some(r) => chosen.push(r),
                    None => outcome.unknown.push(id.clone()),
                }
            }
            chosen
        }
        Selection::Matching(filter) => all
            .iter()
            .filter(|r| r.state == State::Open && filter.matches(r))
            .collect(),
    };
    let now = services.clock.now();
    let correlation = CorrelationId::generate();
    let mut approved_people: BTreeSet<UserId> = BTreeSet::new();
    for rec in chosen {
        if rec.state != State::Open {
            outcome
                .unchanged
                .push((rec.id.clone(), rec.state.as_str().to_owned()));
            continue;
        }
        if dry_run {
            outcome.decided.push(rec.clone());
            continue;
        }
        let Some(after) = recommendations::decide(store, &rec.id, verdict, by, note, now).await?
        else {
            outcome.unknown.push(rec.id.clone());
            continue;
        };
        if after.decided_by.as_deref() != Some(by) || after.updated_at != now {
            // Someone else decided it in the meantime.
            outcome
                .unchanged
                .push((after.id.clone(), after.state.as_str().to_owned()));
            continue;
        }
        services
            .audit(
                AuditRecord::new(
                    now,
                    correlation.clone(),
                    AuditKind::AdminDecision,
                    "admin",
                    format!(
                        "{by} {} {} {} ({}){}",
                        match verdict {
                            Verdict::Approve => "approved",
                            Verdict::Reject => "rejected",
                        },
                        after.action.kind.as_str(),
                        after.action.app_id,
                        after.id,
                        note.map(|n| format!(": {n}")).unwrap_or_default()
                    ),
                )
                .user(&after.action.user_id)
                .app(&after.action.app_id)
                .detail(json!({
                    "recommendation": after.id,
                    "verdict": after.state.as_str(),
                    "by": by,
                    "gate": after.gate,
                    "origin": after.origin,
                    "action_correlation_id": after.action.correlation_id,
                })),
            )
            .await?;
        if verdict == Verdict::Approve {
            approved_people.insert(after.action.user_id.clone());
        }
        outcome.decided.push(after);
    }
    if !approved_people.is_empty() {
        let people: Vec<UserId> = approved_people.into_iter().collect();
        resync::enqueue_under(
            services,
            &people,
            &format!("recommendations approved by {by}"),
            &correlation,
        )
        .await?;
        outcome.reevaluation = Some(correlation);
    }
    Ok(outcome)
}
