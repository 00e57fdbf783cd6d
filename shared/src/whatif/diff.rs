//! What changes for one user between two decisions: apps gained, apps lost, and apps whose
//! delivery changes (pushed <-> offered in the Hub). Computed once per pair of cohorts.

use std::collections::{BTreeMap, HashMap};

use crate::domain::{AppId, PushMode};
use crate::policy::FleetDecisions;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Change {
    pub gains: Vec<(AppId, PushMode)>,
    pub losses: Vec<(AppId, PushMode)>,
    /// App, from, to.
    pub push_changes: Vec<(AppId, PushMode, PushMode)>,
}

impl Change {
    pub fn is_empty(&self) -> bool {
        self.gains.is_empty() && self.losses.is_empty() && self.push_changes.is_empty()
    }
}

/// Diffs every member's decisions, each distinct pair of cohorts once.
pub(crate) struct Differ<'f, 'a> {
    baseline: &'f FleetDecisions<'a>,
    candidate: &'f FleetDecisions<'a>,
    cache: HashMap<(usize, usize), std::rc::Rc<Change>>,
}

impl<'f, 'a> Differ<'f, 'a> {
    pub fn new(baseline: &'f FleetDecisions<'a>, candidate: &'f FleetDecisions<'a>) -> Self {
        Self {
            baseline,
            candidate,
            cache: HashMap::new(),
        }
    }

    pub fn change(&mut self, member: usize) -> std::rc::Rc<Change> {
        let key = (
            self.baseline.cohorts().cohort_of(member),
            self.candidate.cohorts().cohort_of(member),
        );
        if let Some(change) = self.cache.get(&key) {
            return change.clone();
        }
        let before: BTreeMap<&AppId, PushMode> = self.baseline.entitled(member).collect();
        let after: BTreeMap<&AppId, PushMode> = self.candidate.entitled(member).collect();
        let mut change = Change::default();
        for (app, push) in &after {
            match before.get(app) {
                None => change.gains.push(((*app).clone(), *push)),
                Some(old) if old != push => {
                    change.push_changes.push(((*app).clone(), *old, *push));
                }
                Some(_) => {}
            }
        }
        for (app, push) in &before {
            if !after.contains_key(app) {
                change.losses.push(((*app).clone(), *push));
            }
        }
        let change = std::rc::Rc::new(change);
        self.cache.insert(key, change.clone());
        change
    }
}
