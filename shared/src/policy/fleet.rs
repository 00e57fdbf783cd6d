//! Deciding a whole fleet: one Cedar evaluation per cohort (see [`super::cohort`]), each member's
//! decision materialized from their cohort's on demand, so 100,000 users cost what their few
//! thousand distinct cohorts cost.

use chrono::{DateTime, Utc};

use crate::domain::{AppId, PushMode};

use super::cohort::{Cohorts, FleetMember, FleetProgress};
use super::desired::{DesiredApps, DesiredOn, Principal};
use super::engine::PolicyEngine;
use super::error::PolicyError;
use super::facts::{CatalogFacts, UserFacts};
use super::slice::Slices;

/// The decisions of a fleet, kept per cohort.
#[derive(Debug)]
pub struct FleetDecisions<'a> {
    members: &'a [FleetMember<'a>],
    cohorts: Cohorts,
    decided: Vec<DesiredOn>,
    evaluations: usize,
}

impl<'a> FleetDecisions<'a> {
    /// The decision of member `member` (an index into the members given), exactly as
    /// [`PolicyEngine::desired_with`] would make it for them alone.
    pub fn desired(&self, member: usize) -> DesiredApps {
        let cohort = self.cohorts.cohort_of(member);
        self.decided[cohort]
            .materialize(|position| self.cohorts.device_of(self.members, member, position))
    }

    /// The apps member `member` is entitled to and how they are pushed, in catalog order.
    pub fn entitled(&self, member: usize) -> impl Iterator<Item = (&AppId, PushMode)> {
        self.decided[self.cohorts.cohort_of(member)].entitled()
    }

    pub fn members(&self) -> &'a [FleetMember<'a>] {
        self.members
    }

    pub fn cohorts(&self) -> &Cohorts {
        &self.cohorts
    }

    /// Cedar requests answered, over all cohorts.
    pub fn evaluations(&self) -> usize {
        self.evaluations
    }
}

impl PolicyEngine {
    /// Decides every member, once per cohort of members the policies cannot tell apart.
    pub fn desired_for_fleet<'a>(
        &self,
        members: &'a [FleetMember<'a>],
        catalog: &CatalogFacts,
        at: DateTime<Utc>,
        progress: &(dyn Fn(FleetProgress) + Sync),
    ) -> Result<FleetDecisions<'a>, PolicyError> {
        let cohorts = Cohorts::group(self.inputs(), members);
        let slices = Slices::new(self, catalog)?;
        let decided = cohorts
            .evaluate(
                members,
                |representative| {
                    UserFacts::new(representative.employee, representative.is_manager)
                        .and_then(|user| Principal::new(self, user, catalog))
                },
                |principal, _, targets| match principal {
                    Ok(principal) => self.desired_cached(principal, targets, catalog, at, &slices),
                    Err(e) => Err(PolicyError::Request(e.to_string())),
                },
                progress,
            )
            .into_iter()
            .collect::<Result<Vec<DesiredOn>, PolicyError>>()?;
        let evaluations = decided.iter().map(|d| d.evaluations).sum();
        Ok(FleetDecisions {
            members,
            cohorts,
            decided,
            evaluations,
        })
    }
}
