//! Scoring: for one user and one app they have no record of, an estimate of the chance they
//! would use it, from cohort adoption and co-usage; then the top k, each with its evidence.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::domain::{AppId, UserId};

use super::RelevanceError;
use super::corpus::{Counts, Person};
use super::explain::{CohortLevel, Evidence};
use super::train::RelevanceModel;

/// One recommended app for one user.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recommendation {
    pub app_id: AppId,
    /// The model's estimate (0 to 1) that the user would use the app.
    pub score: f64,
    /// The strongest evidence in words: "used by 14 of 17 Account Executives in Austin".
    pub reason: String,
    pub evidence: Evidence,
}

impl RelevanceModel {
    /// The `k` apps `user` has no usage record of that score highest, never a core app and never
    /// one `forbidden` names (pass the apps the policies forbid for the user).
    pub fn recommend(
        &self,
        user: &UserId,
        k: usize,
        forbidden: &dyn Fn(&AppId) -> bool,
    ) -> Result<Vec<Recommendation>, RelevanceError> {
        let person = *self
            .corpus
            .person_index
            .get(user)
            .ok_or_else(|| RelevanceError::UnknownUser(user.clone()))?;
        Ok(self.recommend_for(person, k, forbidden))
    }

    /// [`RelevanceModel::recommend`] for everyone in the org.
    pub fn recommend_all(
        &self,
        k: usize,
        forbidden: &dyn Fn(&UserId, &AppId) -> bool,
    ) -> BTreeMap<UserId, Vec<Recommendation>> {
        self.corpus
            .people
            .iter()
            .enumerate()
            .map(|(i, p)| {
                (
                    p.id.clone(),
                    self.recommend_for(i, k, &|app| forbidden(&p.id, app)),
                )
            })
            .collect()
    }

    fn recommend_for(
        &self,
        person: usize,
        k: usize,
        forbidden: &dyn Fn(&AppId) -> bool,
    ) -> Vec<Recommendation> {
        let p = &self.corpus.people[person];
        self.ranked(person, k, &|app| forbidden(&self.corpus.apps[app]))
            .into_iter()
            .map(|(app, score)| {
                let evidence = self.evidence(p, app);
                Recommendation {
                    app_id: self.corpus.apps[app].clone(),
                    score,
                    reason: evidence.to_string(),
                    evidence,
                }
            })
            .collect()
    }

    /// The top `k` candidates of person `person` (app index, score), best first; ties go to the
    /// smaller app id so that a ranking is reproducible.
    pub(crate) fn ranked(
        &self,
        person: usize,
        k: usize,
        excluded: &dyn Fn(usize) -> bool,
    ) -> Vec<(usize, f64)> {
        let p = &self.corpus.people[person];
        let mut scored: Vec<(usize, f64)> = self
            .candidates(p)
            .filter(|app| !excluded(*app))
            .map(|app| (app, self.score(p, app)))
            .collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        scored.truncate(k);
        scored
    }

    /// Apps the person has no record of, except core apps.
    pub(crate) fn candidates<'a>(&'a self, p: &'a Person) -> impl Iterator<Item = usize> + 'a {
        (0..self.corpus.apps.len())
            .filter(move |app| !self.core[*app] && p.held.binary_search(app).is_err())
    }

    /// `adopters` and peers of a group the person is in, the person left out (they do not use
    /// a candidate, so only the head count changes).
    fn peers(&self, p: &Person, counts: &Counts, app: usize) -> (u32, u32) {
        let own = u32::from(p.observed);
        (counts.adopters[app], counts.members.saturating_sub(own))
    }

    fn rate(&self, p: &Person, counts: &Counts, app: usize) -> (f64, f64) {
        let (k, n) = self.peers(p, counts, app);
        (f64::from(k), f64::from(n))
    }

    fn cohort(&self, p: &Person, level: CohortLevel) -> &Counts {
        let slot = CohortLevel::ALL
            .iter()
            .position(|l| *l == level)
            .unwrap_or_default();
        &self.corpus.levels[slot][p.cohorts[slot]]
    }

    /// Adoption among the person's peers, each cohort's rate pulled towards its parent's:
    /// everyone -> department -> (department and location, title) -> title and location.
    fn cohort_rate(&self, p: &Person, app: usize) -> f64 {
        let m = self.params.cohort_prior;
        let shrink = |(k, n): (f64, f64), prior: f64| (k + m * prior) / (n + m);
        let (k, n) = self.rate(p, &self.corpus.everyone, app);
        let everyone = (k + 1.0) / (n + 2.0);
        let department = shrink(
            self.rate(p, self.cohort(p, CohortLevel::Department), app),
            everyone,
        );
        let located = shrink(
            self.rate(p, self.cohort(p, CohortLevel::DepartmentLocation), app),
            department,
        );
        let titled = shrink(
            self.rate(p, self.cohort(p, CohortLevel::Title), app),
            department,
        );
        // The title's and the location's departures from the department add up: a title's tool
        // stays likely at every office, an office's tool for every title.
        let both = (titled + located - department).clamp(0.0, 1.0);
        shrink(
            self.rate(p, self.cohort(p, CohortLevel::TitleLocation), app),
            both,
        )
    }

    /// The best "people who use A also use this" rate over the person's non-core apps A,
    /// each pulled towards the app's overall rate; `None` without such apps.
    fn co_usage_rate(&self, p: &Person, app: usize) -> Option<f64> {
        let m = self.params.co_usage_prior;
        let (k, n) = self.rate(p, &self.corpus.everyone, app);
        let everyone = (k + 1.0) / (n + 2.0);
        p.used
            .iter()
            .filter(|source| !self.core[**source])
            .map(|&source| {
                let both = f64::from(self.corpus.pair(source, app));
                let users = f64::from(self.corpus.everyone.adopters[source].saturating_sub(1));
                (both + m * everyone) / (users + m)
            })
            .max_by(f64::total_cmp)
    }

    pub(crate) fn score(&self, p: &Person, app: usize) -> f64 {
        let cohort = self.cohort_rate(p, app);
        let co = self.co_usage_rate(p, app).unwrap_or(cohort);
        let w = self.params.co_usage_weight;
        (1.0 - w) * cohort + w * co
    }

    /// The most certain figure behind a recommendation (see [`Evidence::strength`]). Cohorts go
    /// from broad to specific and a tie goes to the more specific one (the same people, better
    /// named); co-usage must be strictly stronger to replace a cohort.
    fn evidence(&self, p: &Person, app: usize) -> Evidence {
        let (k, n) = self.peers(p, &self.corpus.everyone, app);
        let mut best = Evidence::Everyone {
            adopters: k,
            peers: n,
        };
        for level in CohortLevel::ALL {
            let (k, n) = self.peers(p, self.cohort(p, level), app);
            let candidate = Evidence::Cohort {
                level,
                department: p.department.clone(),
                title: p.title.clone(),
                location: p.location.clone(),
                adopters: k,
                peers: n,
            };
            if n > 0 && candidate.strength() >= best.strength() {
                best = candidate;
            }
        }
        for &source in p.used.iter().filter(|s| !self.core[**s]) {
            let candidate = Evidence::CoUsage {
                app: self.corpus.apps[source].clone(),
                adopters: self.corpus.pair(source, app),
                peers: self.corpus.everyone.adopters[source].saturating_sub(1),
            };
            if candidate.strength() > best.strength() {
                best = candidate;
            }
        }
        best
    }
}
