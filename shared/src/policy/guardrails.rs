//! What the forbids keep from a user, whether or not any permit grants it: the set a
//! recommendation (the relevance model's, the adviser's) must never contain.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use crate::domain::{AppId, Device};

use super::cohort::{Cohorts, FleetMember, FleetProgress};
use super::desired::targets_of;
use super::engine::PolicyEngine;
use super::error::PolicyError;
use super::facts::{CatalogFacts, DeviceFacts, UserFacts};

/// The forbidden apps of every member of a fleet, kept per cohort.
#[derive(Debug)]
pub struct FleetGuardrails {
    cohorts: Cohorts,
    forbidden: Vec<BTreeSet<AppId>>,
}

impl FleetGuardrails {
    /// The apps forbidden to member `member` (an index into the members given).
    pub fn forbidden(&self, member: usize) -> &BTreeSet<AppId> {
        &self.forbidden[self.cohorts.cohort_of(member)]
    }
}

impl PolicyEngine {
    /// Apps a forbid keeps from `user` on every device of theirs the app could go on (a user
    /// without devices: every prospective device). An app that one device may have is not
    /// forbidden: recommending it overrides no guardrail.
    pub fn forbidden_with(
        &self,
        user: &UserFacts,
        devices: &[Device],
        catalog: &CatalogFacts,
        at: DateTime<Utc>,
    ) -> Result<BTreeSet<AppId>, PolicyError> {
        self.forbidden_on(user, &targets_of(devices.iter()), catalog, at)
    }

    /// The same for a fleet, once per cohort.
    pub fn forbidden_for_fleet(
        &self,
        members: &[FleetMember<'_>],
        catalog: &CatalogFacts,
        at: DateTime<Utc>,
        progress: &(dyn Fn(FleetProgress) + Sync),
    ) -> Result<FleetGuardrails, PolicyError> {
        let cohorts = Cohorts::group(self.inputs(), members);
        let forbidden = cohorts
            .evaluate(
                members,
                |member, targets| {
                    let user = UserFacts::new(member.employee, member.is_manager)?;
                    self.forbidden_on(&user, targets, catalog, at)
                },
                progress,
            )
            .into_iter()
            .collect::<Result<Vec<_>, PolicyError>>()?;
        Ok(FleetGuardrails { cohorts, forbidden })
    }

    fn forbidden_on(
        &self,
        user: &UserFacts,
        targets: &[DeviceFacts],
        catalog: &CatalogFacts,
        at: DateTime<Utc>,
    ) -> Result<BTreeSet<AppId>, PolicyError> {
        let entities = self.entities(user, catalog)?;
        let contexts = targets
            .iter()
            .map(|d| self.context(d, at))
            .collect::<Result<Vec<_>, _>>()?;
        let mut out = BTreeSet::new();
        for (app_id, app_uid, platforms) in &catalog.apps {
            let mut supported = targets
                .iter()
                .zip(&contexts)
                .filter(|(device, _)| platforms.contains(&device.platform))
                .peekable();
            if supported.peek().is_none() {
                continue;
            }
            let blocked_everywhere = supported.all(|(_, context)| {
                !self
                    .applying_forbids(&entities, &user.uid, app_uid, context.clone())
                    .is_empty()
            });
            if blocked_everywhere {
                out.insert(app_id.clone());
            }
        }
        Ok(out)
    }
}
