//! License reclamation: licensed apps nobody uses are found, their holders warned, and the seats
//! taken back through the same gates as any other change, then given to whoever waits.
//!
//! - `scan`: who holds each app through Loadout and whether they use it (streaming).
//! - `select`: which unused seats become candidates (only Loadout's, old enough, not exempt,
//!   never below the minimum).
//! - `seat`: one seat's record and its states; notices are claimed, sent, marked.
//! - `run`: a resumable run over the catalog (refresh usage, move open seats, start new ones).
//! - `dispatch`: the removal and the grant through the governance gates and the breaker.
//! - `link` and `keep`: the signed, expiring "keep it" link and its route.
//! - `waitlist`: requests held for lack of seats; `exclusion`: apps decisions leave out;
//!   `savings`: the ledger and its report.

mod assigned;
pub mod dispatch;
mod error;
pub mod exclusion;
pub mod keep;
pub mod link;
mod outcome;
mod phases;
mod run;
pub mod savings;
pub mod scan;
pub mod seat;
pub mod select;
pub mod waitlist;

#[cfg(all(test, feature = "local"))]
mod tests;

pub use error::ReclaimError;
pub use outcome::{AppOutcome, HeldRemoval, NoticeSent, RunReport, SourceRefresh};
pub use run::Reclaimer;

use crate::domain::Catalog;
use crate::ports::StateStore;
use crate::stages::Services;
use std::path::PathBuf;
use std::sync::Arc;

/// Why a reclaimer could not be set up from its settings.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("notifications: {0}")]
    Notify(#[from] crate::notify::NotifyError),
    #[error("Intelligence: {0}")]
    Intelligence(#[from] crate::sources::intelligence::IntelligenceError),
}

/// A reclaimer as the settings configure it: Slack notices (`LOADOUT_SLACK_WEBHOOK_URL` in the
/// secrets; none sent without it, the audit then holds them), usage from Intelligence when
/// `LOADOUT_INTELLIGENCE_BASE_URL` is set and from `usage_file` (local mode's `usage.csv`) when
/// given, reported users matched to stored profiles, "keep it" links under
/// `LOADOUT_PUBLIC_BASE_URL` (or `default_link_base`).
pub fn configured(
    services: &Services,
    lookup: &(dyn Fn(&str) -> Option<String> + Sync),
    usage_file: Option<PathBuf>,
    default_link_base: Option<String>,
) -> Result<Reclaimer, SetupError> {
    use crate::notify::{SlackNotifier, SlackSettings};
    use crate::sources::intelligence::{IntelligenceClient, IntelligenceConfig};
    use crate::usage::{IntelligenceUsage, ProfileMatcher, UsageFile};
    let notifier = SlackNotifier::new(
        services.secrets.clone(),
        services.clock.clone(),
        SlackSettings::from_lookup(lookup),
    )?;
    let base = lookup(crate::servicenow::settings::PUBLIC_BASE_URL)
        .filter(|b| !b.trim().is_empty())
        .or(default_link_base);
    let mut reclaimer = Reclaimer::new(services.clone())
        .with_notifier(Arc::new(notifier))
        .with_link_base(base);
    let mapper = Arc::new(ProfileMatcher::new(services.store.clone()));
    if let Some(config) = IntelligenceConfig::from_settings(lookup)? {
        let client = Arc::new(IntelligenceClient::new(config, services.secrets.clone())?);
        let source = IntelligenceUsage::new(
            client,
            services.clock.clone(),
            std::time::Duration::from_secs(120),
        );
        reclaimer = reclaimer.with_source(Arc::new(source), mapper.clone());
    }
    if let Some(path) = usage_file {
        reclaimer = reclaimer.with_source(
            Arc::new(UsageFile::new(path, services.clock.clone())),
            mapper,
        );
    }
    Ok(reclaimer)
}

/// The catalog of the active policy set (what the decisions use).
pub async fn active_catalog(store: &dyn StateStore) -> Result<Catalog, ReclaimError> {
    let record = crate::stages::policy_repo::active(store)
        .await?
        .ok_or_else(|| {
            ReclaimError::Catalog("no policy set is active; run `loadout policy push`".into())
        })?;
    Catalog::from_yaml(&record.catalog_yaml).map_err(|e| ReclaimError::Catalog(e.to_string()))
}
