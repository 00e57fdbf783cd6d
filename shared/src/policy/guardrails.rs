//! What the forbids keep from a user, whether or not any permit grants it: the set a
//! recommendation (the relevance model's, the adviser's) must never contain. And what the
//! policies already push to them, which needs no recommendation.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use crate::domain::{AppId, Device, Platform, PushMode};

use super::cohort::{Cohorts, FleetMember, FleetProgress};
use super::desired::targets_of;
use super::engine::PolicyEngine;
use super::error::PolicyError;
use super::facts::{CatalogFacts, DeviceFacts, UserFacts};
use super::slice::Slices;

/// The forbidden and the pushed apps of every member of a fleet, kept per cohort.
#[derive(Debug)]
pub struct FleetGuardrails {
    cohorts: Cohorts,
    forbidden: Vec<BTreeSet<AppId>>,
    pushed: Vec<BTreeSet<AppId>>,
}

impl FleetGuardrails {
    /// The apps forbidden to member `member` (an index into the members given).
    pub fn forbidden(&self, member: usize) -> &BTreeSet<AppId> {
        &self.forbidden[self.cohorts.cohort_of(member)]
    }

    /// The apps the policies push to member `member` automatically.
    pub fn pushed(&self, member: usize) -> &BTreeSet<AppId> {
        &self.pushed[self.cohorts.cohort_of(member)]
    }
}

impl PolicyEngine {
    /// Apps a forbid keeps from `user` on every device of theirs the app could go on (a user
    /// without devices: every prospective device; an app none of their devices supports: a
    /// prospective corporate device of each platform it supports). An app that one device may
    /// have is not forbidden: recommending it overrides no guardrail.
    pub fn forbidden_with(
        &self,
        user: &UserFacts,
        devices: &[Device],
        catalog: &CatalogFacts,
        at: DateTime<Utc>,
    ) -> Result<BTreeSet<AppId>, PolicyError> {
        self.forbidden_on(user, &targets_of(devices.iter()), catalog, at, None)
    }

    /// The same for a fleet, once per cohort, with the apps pushed to each member.
    pub fn forbidden_for_fleet(
        &self,
        members: &[FleetMember<'_>],
        catalog: &CatalogFacts,
        at: DateTime<Utc>,
        progress: &(dyn Fn(FleetProgress) + Sync),
    ) -> Result<FleetGuardrails, PolicyError> {
        let cohorts = Cohorts::group(self.inputs(), members);
        let slices = Slices::new(self, catalog)?;
        let evaluated = cohorts
            .evaluate(
                members,
                |_| (),
                |_, member, targets| {
                    let user = UserFacts::new(member.employee, member.is_manager)?;
                    let forbidden =
                        self.forbidden_on(&user, targets, catalog, at, Some(&slices))?;
                    let pushed: BTreeSet<AppId> = self
                        .desired_on(&user, targets, catalog, at, Some(&slices))?
                        .entitled()
                        .filter(|(_, push)| *push == PushMode::Auto)
                        .map(|(app, _)| app.clone())
                        .collect();
                    Ok((forbidden, pushed))
                },
                progress,
            )
            .into_iter()
            .collect::<Result<Vec<_>, PolicyError>>()?;
        let (forbidden, pushed) = evaluated.into_iter().unzip();
        Ok(FleetGuardrails {
            cohorts,
            forbidden,
            pushed,
        })
    }

    fn forbidden_on(
        &self,
        user: &UserFacts,
        targets: &[DeviceFacts],
        catalog: &CatalogFacts,
        at: DateTime<Utc>,
        slices: Option<&Slices>,
    ) -> Result<BTreeSet<AppId>, PolicyError> {
        let entities = self.entities(user, catalog)?;
        let contexts = targets
            .iter()
            .map(|d| self.context(d, at))
            .collect::<Result<Vec<_>, _>>()?;
        let mut out = BTreeSet::new();
        let mut prospective = Vec::new();
        for platform in Platform::ALL {
            let device = DeviceFacts::prospective(platform);
            let context = self.context(&device, at)?;
            prospective.push((device, context));
        }
        for (position, (app_id, app_uid, platforms)) in catalog.apps.iter().enumerate() {
            let sets = slices.map_or_else(|| self.sets(), |s| s.for_app(position));
            let on_own: Vec<_> = targets
                .iter()
                .zip(&contexts)
                .filter(|(device, _)| platforms.contains(&device.platform))
                .map(|(_, context)| context)
                .collect();
            let on: Vec<_> = if on_own.is_empty() {
                prospective
                    .iter()
                    .filter(|(device, _)| platforms.contains(&device.platform))
                    .map(|(_, context)| context)
                    .collect()
            } else {
                on_own
            };
            let blocked_everywhere = !on.is_empty()
                && on.into_iter().all(|context| {
                    !self
                        .applying_forbids(sets, &entities, &user.uid, app_uid, context.clone())
                        .is_empty()
                });
            if blocked_everywhere {
                out.insert(app_id.clone());
            }
        }
        Ok(out)
    }
}
