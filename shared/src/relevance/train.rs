//! Training: count adoption per cohort and co-usage per pair of apps, once; scoring then only
//! looks counts up.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::domain::{AppId, AppUsage, Employee, UserId};

use super::corpus::Corpus;
use super::params::ModelParams;

/// A trained model: the counts, which apps are core, the parameters and the version.
#[derive(Debug, Clone)]
pub struct RelevanceModel {
    pub(crate) corpus: Corpus,
    pub(crate) core: Vec<bool>,
    pub(crate) params: ModelParams,
    version: String,
}

impl RelevanceModel {
    /// Learns from the org (cohorts) and the usage records of its people. Records of people
    /// not in the org are ignored: they have no cohort.
    pub fn train(
        org: &[Employee],
        usage: &BTreeMap<UserId, Vec<AppUsage>>,
        params: ModelParams,
    ) -> Self {
        let corpus = Corpus::build(org, usage, &params);
        let core = corpus.core(params.core_share);
        let version = version_of(org, usage, &params);
        if corpus.ignored_records > 0 {
            tracing::info!(
                records = corpus.ignored_records,
                "usage records of people not in the org were ignored"
            );
        }
        Self {
            corpus,
            core,
            params,
            version,
        }
    }

    /// `rm-` and 12 hex digits of a SHA-256 over the parameters and the training data: recorded
    /// with every recommendation, so an audit can say which model scored it.
    pub fn version(&self) -> &str {
        &self.version
    }

    pub fn params(&self) -> &ModelParams {
        &self.params
    }

    /// Every app seen in the usage records, sorted.
    pub fn apps(&self) -> &[AppId] {
        &self.corpus.apps
    }

    /// Apps used by at least `core_share` of people: never recommended.
    pub fn core_apps(&self) -> impl Iterator<Item = &AppId> {
        self.corpus
            .apps
            .iter()
            .zip(&self.core)
            .filter(|(_, core)| **core)
            .map(|(app, _)| app)
    }

    /// The people the model can recommend for, in org order.
    pub fn users(&self) -> impl Iterator<Item = &UserId> {
        self.corpus.people.iter().map(|p| &p.id)
    }

    /// People with usage records: the peers every rate is counted over.
    pub fn observed_users(&self) -> u32 {
        self.corpus.everyone.members
    }
}

fn version_of(
    org: &[Employee],
    usage: &BTreeMap<UserId, Vec<AppUsage>>,
    params: &ModelParams,
) -> String {
    let mut hasher = Sha256::new();
    let mut field = |text: &str| {
        hasher.update(text.as_bytes());
        hasher.update([0u8]);
    };
    field(&format!("{params:?}"));
    let mut people: Vec<&Employee> = org.iter().collect();
    people.sort_by(|a, b| a.id.cmp(&b.id));
    for person in people {
        field(person.id.as_str());
        field(&person.department);
        field(&person.title);
        field(&person.location);
        let mut records: Vec<&AppUsage> = usage.get(&person.id).into_iter().flatten().collect();
        records.sort_by(|a, b| {
            a.app_id
                .cmp(&b.app_id)
                .then(a.launches_30d.cmp(&b.launches_30d))
        });
        for record in records {
            field(record.app_id.as_str());
            field(&record.launches_30d.to_string());
        }
        field("\u{1e}");
    }
    format!("rm-{}", &hex::encode(hasher.finalize())[..12])
}
