//! Cohorts: users whose decision-relevant facts are identical (the attributes, groups and device
//! fields that [`PolicyInputs`] says the policies read). One evaluation stands for the whole
//! cohort; its outcome names devices by position, mapped back to each member's own devices.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::domain::{Device, Employee, Population};

use super::facts::DeviceFacts;
use super::inputs::PolicyInputs;

/// One user of a fleet as the policies see them.
#[derive(Debug, Clone, Copy)]
pub struct FleetMember<'a> {
    pub employee: &'a Employee,
    /// Someone in the org has this user as their manager.
    pub is_manager: bool,
    /// The user's enrolled devices; none means a prospective device per platform.
    pub devices: &'a [Device],
}

impl<'a> FleetMember<'a> {
    /// Every person of a population, in org order.
    pub fn all(population: &'a Population) -> Vec<FleetMember<'a>> {
        population
            .employees
            .iter()
            .map(|employee| FleetMember {
                employee,
                is_manager: population.is_manager(&employee.id),
                devices: population.devices_of(&employee.id),
            })
            .collect()
    }
}

/// The facts that decide a user's apps, projected on what the policies read. Users with equal
/// keys get equal decisions (up to which of their devices an app goes on).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CohortKey {
    principal: PrincipalKey,
    /// Devices, sorted; empty for a user without devices.
    devices: Vec<DeviceKey>,
}

/// The user's side of a cohort key: users with equal principal keys are the same Cedar
/// principal, whatever their devices, so one principal's evaluation on one device serves every
/// cohort of theirs with that device.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct PrincipalKey {
    /// Principal attributes in [`USER_ATTRIBUTES`] order; `None` where no policy reads one.
    attributes: Vec<Option<String>>,
    is_manager: Option<bool>,
    /// The user's groups that some policy tests, sorted.
    groups: Vec<String>,
    /// Set when policies name users: everyone is their own cohort.
    identity: Option<String>,
}

/// The string attributes of `Loadout::User` (the schema's), besides `is_manager`.
const USER_ATTRIBUTES: [&str; 6] = [
    "email",
    "department",
    "title",
    "location",
    "region",
    "employment_type",
];

/// A device as the policies see it. Built from the facts Cedar is given, so the key cannot
/// disagree with the request.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct DeviceKey {
    platform: &'static str,
    enrolled: bool,
    os_version: Option<String>,
    os_major: Option<i64>,
    model: Option<String>,
    ownership: Option<&'static str>,
    compliant: Option<bool>,
    free_storage_mb: Option<i64>,
}

impl DeviceKey {
    pub(crate) fn of(inputs: &PolicyInputs, facts: &DeviceFacts) -> DeviceKey {
        DeviceKey {
            platform: facts.platform.as_str(),
            enrolled: facts.enrolled,
            os_version: inputs
                .reads_device("os_version")
                .then(|| facts.os_version.clone()),
            os_major: inputs.reads_device("os_major").then_some(facts.os_major),
            model: inputs.reads_device("model").then(|| facts.model.clone()),
            ownership: inputs
                .reads_device("ownership")
                .then_some(facts.ownership.as_str()),
            compliant: inputs.reads_device("compliant").then_some(facts.compliant),
            free_storage_mb: inputs
                .reads_device("free_storage_mb")
                .then_some(facts.free_storage_mb),
        }
    }
}

impl CohortKey {
    /// The key of one member, and the order of their devices as the key lists them: position
    /// `p` of the key is the member's device `order[p]`.
    pub fn of(inputs: &PolicyInputs, member: &FleetMember<'_>) -> (CohortKey, Vec<usize>) {
        let e = member.employee;
        let values = [
            &e.email,
            &e.department,
            &e.title,
            &e.location,
            &e.region,
            &e.employment_type,
        ];
        let attributes = USER_ATTRIBUTES
            .iter()
            .zip(values)
            .map(|(name, value)| inputs.reads_user(name).then(|| value.clone()))
            .collect();
        let mut groups: Vec<String> = e
            .groups
            .iter()
            .filter(|g| inputs.reads_group(g))
            .cloned()
            .collect();
        groups.sort();
        groups.dedup();
        let devices: Vec<DeviceKey> = member
            .devices
            .iter()
            .map(|d| DeviceKey::of(inputs, &DeviceFacts::enrolled(d)))
            .collect();
        let mut order: Vec<usize> = (0..devices.len()).collect();
        order.sort_by(|a, b| devices[*a].cmp(&devices[*b]));
        let key = CohortKey {
            principal: PrincipalKey {
                attributes,
                is_manager: inputs.reads_user("is_manager").then_some(member.is_manager),
                groups,
                identity: inputs.identity.then(|| e.id.as_str().to_owned()),
            },
            devices: order.iter().map(|i| devices[*i].clone()).collect(),
        };
        (key, order)
    }
}

/// A fleet split into cohorts.
#[derive(Debug, Clone)]
pub struct Cohorts {
    /// Per cohort: the member evaluated for it.
    representatives: Vec<usize>,
    /// Per principal (users the policies see as the same principal): their cohorts.
    principals: Vec<Vec<usize>>,
    /// Per member: their cohort and their device order (see [`CohortKey::of`]).
    membership: Vec<(usize, Vec<usize>)>,
}

/// How far a fleet evaluation is: cohorts done of all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FleetProgress {
    pub done: usize,
    pub total: usize,
}

impl Cohorts {
    pub fn group(inputs: &PolicyInputs, members: &[FleetMember<'_>]) -> Cohorts {
        let mut index: HashMap<CohortKey, usize> = HashMap::new();
        let mut principal_index: HashMap<PrincipalKey, usize> = HashMap::new();
        let mut representatives = Vec::new();
        let mut principals: Vec<Vec<usize>> = Vec::new();
        let mut membership = Vec::with_capacity(members.len());
        for (i, member) in members.iter().enumerate() {
            let (key, order) = CohortKey::of(inputs, member);
            let cohort = match index.get(&key) {
                Some(cohort) => *cohort,
                None => {
                    let cohort = representatives.len();
                    representatives.push(i);
                    let next = principals.len();
                    let principal = *principal_index.entry(key.principal.clone()).or_insert(next);
                    if principal == principals.len() {
                        principals.push(Vec::new());
                    }
                    principals[principal].push(cohort);
                    index.insert(key, cohort);
                    cohort
                }
            };
            membership.push((cohort, order));
        }
        Cohorts {
            representatives,
            principals,
            membership,
        }
    }

    /// Distinct principals: users the policies cannot tell apart, devices aside.
    pub fn principals(&self) -> usize {
        self.principals.len()
    }

    pub fn len(&self) -> usize {
        self.representatives.len()
    }

    pub fn is_empty(&self) -> bool {
        self.representatives.is_empty()
    }

    /// The cohort of member `member`.
    pub fn cohort_of(&self, member: usize) -> usize {
        self.membership[member].0
    }

    /// Members of each cohort, in member order.
    pub fn members_by_cohort(&self) -> Vec<Vec<usize>> {
        let mut out = vec![Vec::new(); self.len()];
        for (member, (cohort, _)) in self.membership.iter().enumerate() {
            out[*cohort].push(member);
        }
        out
    }

    /// Maps position `position` of a cohort's targets to member `member`'s device order and id
    /// (`None` for a prospective device).
    pub(crate) fn device_of(
        &self,
        members: &[FleetMember<'_>],
        member: usize,
        position: usize,
    ) -> (usize, Option<String>) {
        match self.membership[member].1.get(position) {
            Some(&i) => (
                i,
                members[member].devices.get(i).map(|d| d.device_id.clone()),
            ),
            None => (position, None),
        }
    }

    /// Runs `evaluate` once per cohort, on the representative and their devices in key order,
    /// spread over the machine's cores; results in cohort order. Cohorts of one principal are
    /// evaluated by one worker, after `prepare` (once per principal: what their cohorts can
    /// share). `progress` is called from the worker threads as cohorts finish.
    pub(crate) fn evaluate<P, T: Send>(
        &self,
        members: &[FleetMember<'_>],
        prepare: impl Fn(&FleetMember<'_>) -> P + Sync,
        evaluate: impl Fn(&P, &FleetMember<'_>, &[DeviceFacts]) -> T + Sync,
        progress: &(dyn Fn(FleetProgress) + Sync),
    ) -> Vec<T> {
        let total = self.len();
        let next = AtomicUsize::new(0);
        let done = AtomicUsize::new(0);
        let workers = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .clamp(1, self.principals.len().max(1));
        let work = || {
            let mut out = Vec::new();
            loop {
                let principal = next.fetch_add(1, Ordering::Relaxed);
                let Some(cohorts) = self.principals.get(principal) else {
                    break;
                };
                let Some(first) = cohorts.first() else {
                    continue;
                };
                let prepared = prepare(&members[self.representatives[*first]]);
                for &cohort in cohorts {
                    let representative = self.representatives[cohort];
                    let member = &members[representative];
                    let order = &self.membership[representative].1;
                    let targets =
                        super::desired::targets_of(order.iter().map(|i| &member.devices[*i]));
                    out.push((cohort, evaluate(&prepared, member, &targets)));
                    let finished = done.fetch_add(1, Ordering::Relaxed) + 1;
                    progress(FleetProgress {
                        done: finished,
                        total,
                    });
                }
            }
            out
        };
        let mut results: Vec<(usize, T)> = if workers == 1 {
            work()
        } else {
            std::thread::scope(|scope| {
                let handles: Vec<_> = (0..workers).map(|_| scope.spawn(work)).collect();
                handles
                    .into_iter()
                    .flat_map(|h| match h.join() {
                        Ok(part) => part,
                        Err(panic) => std::panic::resume_unwind(panic),
                    })
                    .collect()
            })
        };
        results.sort_by_key(|(cohort, _)| *cohort);
        results.into_iter().map(|(_, value)| value).collect()
    }
}
