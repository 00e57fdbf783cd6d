//! What a policy set does on a real population (`loadout policy check` with an org): policies
//! that never apply to anyone, permits whose grants a forbid always removes, and catalog apps
//! nobody is granted. Schema validation cannot see these: they depend on who works here.
//!
//! Errors (the set is almost certainly wrong): a permit that applies to nobody (usually a
//! misspelt department, title or group), and a permit that applies to someone but whose every
//! grant, for everyone, a forbid removes (it can never take effect).
//! Warnings (worth a look, often intended): a forbid that applies to nobody (a guardrail for a
//! case this population does not have), a permit/forbid pair where the forbid removes all the
//! permit grants for some users (named), a catalog app no permit grants, and an app granted only
//! where a forbid blocks it.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::{AppId, UserId};

use super::cohort::{Cohorts, FleetMember, FleetProgress};
use super::engine::PolicyEngine;
use super::error::PolicyError;
use super::facts::{CatalogFacts, DeviceFacts, UserFacts};
use super::rule::RuleEffect;
use super::slice::Slices;

/// How many users a message names before it says "and N more".
const NAMED_USERS: usize = 5;

/// A forbid that removes everything a permit grants to some users (`forbid` names several,
/// joined by ` + `, when only together they do).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Overlap {
    pub permit: String,
    pub forbid: String,
    pub users: Vec<UserId>,
}

/// The population findings of `policy check`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PopulationReport {
    pub users: usize,
    pub cohorts: usize,
    /// Permits that apply to nobody (errors).
    pub permits_never_apply: Vec<String>,
    /// Permits that apply to someone, but whose every grant a forbid removes for everyone (errors).
    pub permits_never_effective: Vec<String>,
    /// Forbids that apply to nobody (warnings).
    pub forbids_never_apply: Vec<String>,
    /// Forbids that remove all a permit grants to some users (warnings).
    pub overlaps: Vec<Overlap>,
    /// Catalog apps no permit grants to anyone (warnings).
    pub apps_never_granted: Vec<AppId>,
    /// Apps granted to someone, but blocked by a forbid wherever they are granted (warnings).
    pub apps_always_blocked: Vec<AppId>,
}

impl PopulationReport {
    pub fn errors(&self) -> Vec<String> {
        let mut out = Vec::new();
        for id in &self.permits_never_apply {
            out.push(format!(
                "permit {id:?} applies to none of the {} users on any catalog app: check the attribute values, groups, apps and bundles it names",
                self.users
            ));
        }
        for id in &self.permits_never_effective {
            out.push(format!(
                "permit {id:?} can never take effect: a forbid removes everything it grants, for every user it applies to"
            ));
        }
        out
    }

    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        for id in &self.forbids_never_apply {
            out.push(format!(
                "forbid {id:?} applies to none of the {} users",
                self.users
            ));
        }
        for overlap in &self.overlaps {
            out.push(format!(
                "forbid {:?} removes everything permit {:?} grants for {} user(s): {}",
                overlap.forbid,
                overlap.permit,
                overlap.users.len(),
                name_users(&overlap.users)
            ));
        }
        for app in &self.apps_never_granted {
            out.push(format!("no policy grants app {:?} to anyone", app.as_str()));
        }
        for app in &self.apps_always_blocked {
            out.push(format!(
                "app {:?} is granted only where a forbid blocks it: nobody gets it",
                app.as_str()
            ));
        }
        out
    }
}

fn name_users(users: &[UserId]) -> String {
    let named: Vec<&str> = users.iter().take(NAMED_USERS).map(UserId::as_str).collect();
    let rest = users.len().saturating_sub(NAMED_USERS);
    if rest == 0 {
        named.join(", ")
    } else {
        format!("{} and {rest} more", named.join(", "))
    }
}

/// What one cohort's evaluation showed.
#[derive(Debug, Default)]
struct CohortCoverage {
    permits: BTreeSet<String>,
    forbids: BTreeSet<String>,
    /// Permits that applied here and whose every grant a forbid blocked.
    blocked_permits: BTreeSet<String>,
    /// (permit, forbid) where the forbid alone blocked all the permit's grants.
    overlaps: BTreeSet<(String, String)>,
    granted: BTreeSet<AppId>,
    allowed: BTreeSet<AppId>,
}

impl PolicyEngine {
    /// Evaluates every permit and forbid on every member's devices (once per cohort) and reports
    /// what never applies, what always overlaps and which apps nobody gets.
    pub fn coverage(
        &self,
        members: &[FleetMember<'_>],
        catalog: &CatalogFacts,
        at: DateTime<Utc>,
        progress: &(dyn Fn(FleetProgress) + Sync),
    ) -> Result<PopulationReport, PolicyError> {
        let cohorts = Cohorts::group(self.inputs(), members);
        let slices = Slices::new(self, catalog)?;
        let per_cohort = cohorts
            .evaluate(
                members,
                |_| (),
                |_, member, targets| {
                    let user = UserFacts::new(member.employee, member.is_manager)?;
                    self.cohort_coverage(&user, targets, catalog, at, &slices)
                },
                progress,
            )
            .into_iter()
            .collect::<Result<Vec<_>, PolicyError>>()?;

        let mut report = PopulationReport {
            users: members.len(),
            cohorts: cohorts.len(),
            ..PopulationReport::default()
        };
        let ids = |effect: RuleEffect| -> BTreeSet<String> {
            self.rules()
                .filter(|r| r.effect == effect)
                .map(|r| r.id.clone())
                .collect()
        };
        let applied_permits: BTreeSet<&String> =
            per_cohort.iter().flat_map(|c| &c.permits).collect();
        let applied_forbids: BTreeSet<&String> =
            per_cohort.iter().flat_map(|c| &c.forbids).collect();
        report.permits_never_apply = ids(RuleEffect::Permit)
            .into_iter()
            .filter(|id| !applied_permits.contains(id))
            .collect();
        report.forbids_never_apply = ids(RuleEffect::Forbid)
            .into_iter()
            .filter(|id| !applied_forbids.contains(id))
            .collect();
        report.permits_never_effective = applied_permits
            .iter()
            .filter(|id| {
                per_cohort
                    .iter()
                    .filter(|c| c.permits.contains(**id))
                    .all(|c| c.blocked_permits.contains(**id))
            })
            .map(|id| (*id).clone())
            .collect();

        let members_of = cohorts.members_by_cohort();
        let mut overlaps: BTreeMap<(String, String), Vec<UserId>> = BTreeMap::new();
        for (cohort, coverage) in per_cohort.iter().enumerate() {
            for pair in &coverage.overlaps {
                overlaps.entry(pair.clone()).or_default().extend(
                    members_of[cohort]
                        .iter()
                        .map(|m| members[*m].employee.id.clone()),
                );
            }
        }
        report.overlaps = overlaps
            .into_iter()
            // A permit no one can ever use is already an error; naming every pair adds nothing.
            .filter(|((permit, _), _)| !report.permits_never_effective.contains(permit))
            .map(|((permit, forbid), mut users)| {
                users.sort();
                Overlap {
                    permit,
                    forbid,
                    users,
                }
            })
            .collect();

        let granted: BTreeSet<&AppId> = per_cohort.iter().flat_map(|c| &c.granted).collect();
        let allowed: BTreeSet<&AppId> = per_cohort.iter().flat_map(|c| &c.allowed).collect();
        report.apps_never_granted = catalog
            .apps
            .iter()
            .map(|(id, _, _)| id)
            .filter(|id| !granted.contains(id))
            .cloned()
            .collect();
        report.apps_always_blocked = granted
            .into_iter()
            .filter(|id| !allowed.contains(id))
            .cloned()
            .collect();
        Ok(report)
    }

    fn cohort_coverage(
        &self,
        user: &UserFacts,
        targets: &[DeviceFacts],
        catalog: &CatalogFacts,
        at: DateTime<Utc>,
        slices: &Slices,
    ) -> Result<CohortCoverage, PolicyError> {
        let entities = self.entities(user, catalog)?;
        let contexts = targets
            .iter()
            .map(|d| self.context(d, at))
            .collect::<Result<Vec<_>, _>>()?;
        let mut out = CohortCoverage::default();
        // Per permit: the forbids that blocked every one of its grants so far (None: not yet
        // granted), and all forbids that blocked any.
        let mut blockers: BTreeMap<String, Option<BTreeSet<String>>> = BTreeMap::new();
        let mut any_blocker: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut unblocked: BTreeSet<String> = BTreeSet::new();
        for (position, (app_id, app_uid, platforms)) in catalog.apps.iter().enumerate() {
            let sets = slices.for_app(position);
            for (device, context) in targets.iter().zip(&contexts) {
                if !platforms.contains(&device.platform) {
                    continue;
                }
                let permits =
                    self.applying_permits(sets, &entities, &user.uid, app_uid, context.clone());
                let forbids =
                    self.applying_forbids(sets, &entities, &user.uid, app_uid, context.clone());
                if !permits.is_empty() {
                    out.granted.insert(app_id.clone());
                    if forbids.is_empty() {
                        out.allowed.insert(app_id.clone());
                    }
                }
                let here: BTreeSet<String> = forbids.iter().cloned().collect();
                for permit in &permits {
                    if forbids.is_empty() {
                        unblocked.insert(permit.clone());
                    }
                    any_blocker
                        .entry(permit.clone())
                        .or_default()
                        .extend(here.iter().cloned());
                    let entry = blockers.entry(permit.clone()).or_insert(None);
                    *entry = Some(match entry.take() {
                        None => here.clone(),
                        Some(so_far) => so_far.intersection(&here).cloned().collect(),
                    });
                }
                out.permits.extend(permits);
                out.forbids.extend(forbids);
            }
        }
        for (permit, forbids) in blockers {
            if unblocked.contains(&permit) {
                continue;
            }
            out.blocked_permits.insert(permit.clone());
            let alone = forbids.unwrap_or_default();
            if alone.is_empty() {
                // Several forbids between them: named together.
                let together: Vec<String> = any_blocker
                    .remove(&permit)
                    .unwrap_or_default()
                    .into_iter()
                    .collect();
                out.overlaps.insert((permit.clone(), together.join(" + ")));
            }
            for forbid in alone {
                out.overlaps.insert((permit.clone(), forbid));
            }
        }
        Ok(out)
    }
}
