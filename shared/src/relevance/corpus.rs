//! The training data as counts: people (org order) with their cohorts and apps, the number of
//! people and adopters per cohort and app, and how many people use each pair of apps.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::domain::{AppId, AppUsage, Employee, UserId};

use super::explain::CohortLevel;
use super::params::ModelParams;

/// One person of the org.
#[derive(Debug, Clone)]
pub(crate) struct Person {
    pub id: UserId,
    pub department: String,
    pub title: String,
    pub location: String,
    /// Their cohort at each level, in [`CohortLevel::ALL`] order.
    pub cohorts: [usize; 4],
    /// Apps they use (at least `min_launches`), sorted indices.
    pub used: Vec<usize>,
    /// Apps they have any usage record of, used or idle, sorted indices.
    pub held: Vec<usize>,
    /// They have usage records at all: only such people count as peers. Someone without any
    /// (a new hire) is unknown, not a non-adopter.
    pub observed: bool,
}

/// People and adopters of one group.
#[derive(Debug, Clone)]
pub(crate) struct Counts {
    pub members: u32,
    /// Per app index.
    pub adopters: Vec<u32>,
}

impl Counts {
    fn new(apps: usize) -> Self {
        Self {
            members: 0,
            adopters: vec![0; apps],
        }
    }

    fn add(&mut self, used: &[usize]) {
        self.members += 1;
        for &app in used {
            self.adopters[app] += 1;
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Corpus {
    pub apps: Vec<AppId>,
    pub app_index: HashMap<AppId, usize>,
    pub people: Vec<Person>,
    pub person_index: HashMap<UserId, usize>,
    pub everyone: Counts,
    /// Per level (in [`CohortLevel::ALL`] order), per cohort.
    pub levels: [Vec<Counts>; 4],
    /// `pairs[a * apps + b]`: people who use both a and b (symmetric; the diagonal is unused).
    pub pairs: Vec<u32>,
    /// Usage records of people not in the org (they have no cohort), ignored.
    pub ignored_records: usize,
}

impl Corpus {
    pub fn build(
        org: &[Employee],
        usage: &BTreeMap<UserId, Vec<AppUsage>>,
        params: &ModelParams,
    ) -> Corpus {
        let in_org: BTreeSet<&UserId> = org.iter().map(|e| &e.id).collect();
        let apps: Vec<AppId> = usage
            .iter()
            .filter(|(user, _)| in_org.contains(user))
            .flat_map(|(_, records)| records.iter().map(|r| r.app_id.clone()))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let ignored_records = usage
            .iter()
            .filter(|(user, _)| !in_org.contains(user))
            .map(|(_, records)| records.len())
            .sum();
        let app_index: HashMap<AppId, usize> = apps
            .iter()
            .enumerate()
            .map(|(i, a)| (a.clone(), i))
            .collect();
        let n_apps = apps.len();

        let mut cohort_ids: [HashMap<String, usize>; 4] = Default::default();
        let mut people = Vec::with_capacity(org.len());
        let mut person_index = HashMap::with_capacity(org.len());
        for employee in org {
            if person_index.contains_key(&employee.id) {
                continue; // a repeated row: the first one stands
            }
            let records = usage.get(&employee.id).map_or(&[][..], Vec::as_slice);
            let mut used = BTreeSet::new();
            let mut held = BTreeSet::new();
            for record in records {
                if let Some(&app) = app_index.get(&record.app_id) {
                    held.insert(app);
                    if record.launches_30d >= params.min_launches {
                        used.insert(app);
                    }
                }
            }
            let mut cohorts = [0; 4];
            for (slot, level) in CohortLevel::ALL.iter().enumerate() {
                let key = level.key(&employee.department, &employee.title, &employee.location);
                let next = cohort_ids[slot].len();
                cohorts[slot] = *cohort_ids[slot].entry(key).or_insert(next);
            }
            person_index.insert(employee.id.clone(), people.len());
            people.push(Person {
                id: employee.id.clone(),
                department: employee.department.clone(),
                title: employee.title.clone(),
                location: employee.location.clone(),
                cohorts,
                used: used.into_iter().collect(),
                held: held.into_iter().collect(),
                observed: !records.is_empty(),
            });
        }

        let mut everyone = Counts::new(n_apps);
        let mut levels: [Vec<Counts>; 4] =
            std::array::from_fn(|slot| vec![Counts::new(n_apps); cohort_ids[slot].len()]);
        let mut pairs = vec![0u32; n_apps * n_apps];
        for person in people.iter().filter(|p| p.observed) {
            everyone.add(&person.used);
            for (slot, cohort) in person.cohorts.iter().enumerate() {
                levels[slot][*cohort].add(&person.used);
            }
            for (i, &a) in person.used.iter().enumerate() {
                for &b in &person.used[i + 1..] {
                    pairs[a * n_apps + b] += 1;
                    pairs[b * n_apps + a] += 1;
                }
            }
        }
        Corpus {
            apps,
            app_index,
            people,
            person_index,
            everyone,
            levels,
            pairs,
            ignored_records,
        }
    }

    pub fn pair(&self, a: usize, b: usize) -> u32 {
        self.pairs[a * self.apps.len() + b]
    }

    /// Apps used by at least `share` of the people with usage records.
    pub fn core(&self, share: f64) -> Vec<bool> {
        let members = f64::from(self.everyone.members.max(1));
        self.everyone
            .adopters
            .iter()
            .map(|&k| self.everyone.members > 0 && f64::from(k) / members >= share)
            .collect()
    }
}
