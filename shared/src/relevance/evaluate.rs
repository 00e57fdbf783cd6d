//! Offline evaluation: hold out a share of each user's optional apps in use, train on the rest,
//! and measure how many held-out apps the model's top k finds, against a popularity baseline
//! (the most used optional apps overall) ranking the same candidates.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::domain::{AppId, AppUsage, Employee, UserId};

use super::RelevanceError;
use super::corpus::Corpus;
use super::params::ModelParams;
use super::train::RelevanceModel;

#[derive(Debug, Clone, PartialEq)]
pub struct EvalOptions {
    pub k: usize,
    /// Share of each user's optional apps in use that is held out (at least one, never all).
    pub holdout: f64,
    /// Chooses the held-out apps; the same seed gives the same split.
    pub seed: u64,
    pub params: ModelParams,
}

impl Default for EvalOptions {
    fn default() -> Self {
        Self {
            k: 5,
            holdout: 0.2,
            seed: 7,
            params: ModelParams::default(),
        }
    }
}

/// Precision@k and recall@k, averaged over the users evaluated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metrics {
    pub precision_at_k: f64,
    pub recall_at_k: f64,
    /// Held-out apps found in the top k, over all users.
    pub hits: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    pub k: usize,
    pub holdout: f64,
    pub seed: u64,
    /// Users with at least one held-out app.
    pub users: usize,
    /// Held-out apps, over all users.
    pub held_out: usize,
    pub model: Metrics,
    pub popularity: Metrics,
    /// The version of the model trained on the training part.
    pub model_version: String,
}

impl Evaluation {
    /// The model's recall@k over the baseline's (`None` when the baseline finds nothing).
    pub fn recall_lift(&self) -> Option<f64> {
        (self.popularity.recall_at_k > 0.0)
            .then(|| self.model.recall_at_k / self.popularity.recall_at_k)
    }
}

/// Splits, trains on the training part and measures both rankers on the held-out part.
pub fn evaluate(
    org: &[Employee],
    usage: &BTreeMap<UserId, Vec<AppUsage>>,
    options: &EvalOptions,
) -> Result<Evaluation, RelevanceError> {
    if options.k == 0 {
        return Err(RelevanceError::ZeroK);
    }
    if !(options.holdout > 0.0 && options.holdout < 1.0) {
        return Err(RelevanceError::BadHoldout(options.holdout));
    }
    let (training, held) = split(org, usage, options);
    let model = RelevanceModel::train(org, &training, options.params.clone());
    let corpus = &model.corpus;

    let mut popular: Vec<usize> = (0..corpus.apps.len()).collect();
    popular.sort_by(|a, b| {
        corpus.everyone.adopters[*b]
            .cmp(&corpus.everyone.adopters[*a])
            .then(a.cmp(b))
    });

    let mut users = 0;
    let mut held_out = 0;
    let (mut model_sum, mut popular_sum) = (Sums::default(), Sums::default());
    for (i, person) in corpus.people.iter().enumerate() {
        let Some(apps) = held.get(&person.id) else {
            continue;
        };
        // An app the training part made core is never recommended: it cannot be a target.
        let targets: BTreeSet<usize> = apps
            .iter()
            .filter_map(|a| corpus.app_index.get(a).copied())
            .filter(|a| !model.core[*a])
            .collect();
        if targets.is_empty() {
            continue;
        }
        users += 1;
        held_out += targets.len();

        let ranked: Vec<usize> = model
            .ranked(i, options.k, &|_| false)
            .into_iter()
            .map(|(app, _)| app)
            .collect();
        model_sum.add(&ranked, &targets, options.k);

        let candidates: BTreeSet<usize> = model.candidates(person).collect();
        let baseline: Vec<usize> = popular
            .iter()
            .filter(|a| candidates.contains(a))
            .take(options.k)
            .copied()
            .collect();
        popular_sum.add(&baseline, &targets, options.k);
    }
    if users == 0 {
        return Err(RelevanceError::NothingToEvaluate);
    }
    Ok(Evaluation {
        k: options.k,
        holdout: options.holdout,
        seed: options.seed,
        users,
        held_out,
        model: model_sum.metrics(users),
        popularity: popular_sum.metrics(users),
        model_version: model.version().to_owned(),
    })
}

#[derive(Default)]
struct Sums {
    precision: f64,
    recall: f64,
    hits: usize,
}

impl Sums {
    fn add(&mut self, ranked: &[usize], targets: &BTreeSet<usize>, k: usize) {
        let hits = ranked.iter().filter(|a| targets.contains(a)).count();
        self.hits += hits;
        self.precision += hits as f64 / k as f64;
        self.recall += hits as f64 / targets.len() as f64;
    }

    fn metrics(&self, users: usize) -> Metrics {
        Metrics {
            precision_at_k: self.precision / users as f64,
            recall_at_k: self.recall / users as f64,
            hits: self.hits,
        }
    }
}

/// The training usage (held-out records removed) and each user's held-out apps. Only optional
/// apps (not core on the whole data) in use are held out, from users with at least two.
fn split(
    org: &[Employee],
    usage: &BTreeMap<UserId, Vec<AppUsage>>,
    options: &EvalOptions,
) -> (
    BTreeMap<UserId, Vec<AppUsage>>,
    BTreeMap<UserId, BTreeSet<AppId>>,
) {
    let full = Corpus::build(org, usage, &options.params);
    let core = full.core(options.params.core_share);
    let mut rng = SplitMix64(options.seed);
    let mut held: BTreeMap<UserId, BTreeSet<AppId>> = BTreeMap::new();
    for person in &full.people {
        let mut optional: Vec<usize> = person.used.iter().copied().filter(|a| !core[*a]).collect();
        if optional.len() < 2 {
            continue;
        }
        // Fisher-Yates with our own generator: the split must not change with a crate upgrade.
        for i in (1..optional.len()).rev() {
            let j = (rng.next() % (i as u64 + 1)) as usize;
            optional.swap(i, j);
        }
        let n = optional.len();
        let count = ((options.holdout * n as f64).round() as usize).clamp(1, n - 1);
        held.insert(
            person.id.clone(),
            optional[..count]
                .iter()
                .map(|a| full.apps[*a].clone())
                .collect(),
        );
    }
    let training = usage
        .iter()
        .map(|(user, records)| {
            let out = held.get(user);
            let kept = records
                .iter()
                .filter(|r| out.is_none_or(|apps| !apps.contains(&r.app_id)))
                .cloned()
                .collect();
            (user.clone(), kept)
        })
        .collect();
    (training, held)
}

/// SplitMix64 (Steele, Lea and Flood): tiny, and the same sequence on every platform and version.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}
