//! Reading a person from the directory that named them. Microsoft Graph notifications, BambooHR
//! webhooks and Okta event hooks carry the source's own id (an Entra object id, a BambooHR
//! employee id, an Okta user id) and no attributes worth trusting: enrichment reads the person
//! through the source's API and maps them onto Loadout's directory.

mod bamboohr;
mod budget;
mod config;
mod credential;
mod error;
mod fetch;
mod graph;
pub mod intelligence;
mod okta;

pub use bamboohr::BambooHrReader;
pub use budget::ReadBudget;
pub use config::{BambooHrConfig, GraphConfig, OktaConfig};
pub use error::SourceError;
pub use graph::GraphReader;
pub use okta::OktaReader;

use crate::domain::EventSource;
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Arc;

/// A person as one source describes them. `None` means the source does not hold that attribute
/// (BambooHR has no groups): Loadout keeps what it knew, rather than erasing it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceUser {
    /// The source's own id, as the event named it.
    pub external_id: String,
    /// The on-premises account name, when the source has one (Entra `onPremisesSamAccountName`);
    /// UEM users synced from a directory usually carry it as their user name.
    pub account_name: Option<String>,
    /// The user principal name (Entra `userPrincipalName`, Okta `login`).
    pub upn: Option<String>,
    pub email: Option<String>,
    pub department: Option<String>,
    pub title: Option<String>,
    pub location: Option<String>,
    pub employment_type: Option<String>,
    /// The manager's e-mail; Loadout resolves it to a user id.
    pub manager_email: Option<String>,
    /// The manager's id in this source (Okta `managerId`), resolved through the ids Loadout
    /// has learned from this source.
    pub manager_external_id: Option<String>,
    pub groups: Option<Vec<String>>,
    /// False once the source has disabled or terminated the person.
    pub active: bool,
}

/// One directory Loadout can read people from.
#[async_trait]
pub trait DirectorySource: Send + Sync {
    /// The event source whose ids this reader understands.
    fn source(&self) -> EventSource;

    /// The person with this id, or `None` when the source no longer has them (deleted).
    async fn user(&self, external_id: &str) -> Result<Option<SourceUser>, SourceError>;

    /// The ids of a group's user members (every page), or `None` when the group is gone.
    async fn group_members(&self, _group_id: &str) -> Result<Option<Vec<String>>, SourceError> {
        Err(SourceError::Unsupported {
            source_name: self.source().as_str(),
            what: "groups",
        })
    }

    /// One page of a group's user members: the first when `cursor` is `None`, else the page
    /// `cursor` (a previous page's `next`) names. `None` when the group is gone. A group change
    /// that names no member is applied a page per invocation, so that one event never reads a
    /// whole large group at once.
    async fn group_members_page(
        &self,
        _group_id: &str,
        _cursor: Option<&str>,
    ) -> Result<Option<MembersPage>, SourceError> {
        Err(SourceError::Unsupported {
            source_name: self.source().as_str(),
            what: "groups",
        })
    }
}

/// A page of a group's members and where the next one is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MembersPage {
    pub ids: Vec<String>,
    /// The next page's cursor (the source's next-page link); `None` on the last page.
    pub next: Option<String>,
}

/// An id a reader may put in a URL path: present and of a sane length (ids are percent-encoded
/// as one segment by the reader, so the content is not otherwise limited).
fn check_id(source_name: &'static str, what: &str, id: &str) -> Result<(), SourceError> {
    if id.is_empty() || id.len() > 256 {
        return Err(SourceError::Rejected {
            source_name,
            status: 400,
            detail: format!("the {what} id is empty or too long"),
        });
    }
    Ok(())
}

/// The readers configured for this deployment, by the event source they serve.
#[derive(Clone, Default)]
pub struct DirectorySources {
    readers: HashMap<EventSource, Arc<dyn DirectorySource>>,
    /// What every reader's reads draw from, once set.
    budget: Option<ReadBudget>,
}

impl DirectorySources {
    /// No directory is read: events that name users by a source id resolve only through ids
    /// Loadout has already learned.
    pub fn none() -> Self {
        Self::default()
    }

    pub fn with(mut self, reader: Arc<dyn DirectorySource>) -> Self {
        let reader = match &self.budget {
            Some(budget) => budget.wrap(reader),
            None => reader,
        };
        self.readers.insert(reader.source(), reader);
        self
    }

    /// Every read of every reader draws from `budget` first (see [`ReadBudget`]).
    pub fn with_read_budget(mut self, budget: ReadBudget) -> Self {
        for reader in self.readers.values_mut() {
            *reader = budget.wrap(reader.clone());
        }
        self.budget = Some(budget);
        self
    }

    pub fn reader(&self, source: EventSource) -> Option<&Arc<dyn DirectorySource>> {
        self.readers.get(&source)
    }

    /// The readers whose settings are present (see [`GraphConfig::from_settings`] and
    /// [`BambooHrConfig::from_settings`]); a source with no settings is simply not read. Each
    /// reader reads its secret again from `secrets` when the directory refuses it (a rotation).
    pub async fn from_settings(
        lookup: &(dyn Fn(&str) -> Option<String> + Sync),
        secrets: &Arc<dyn crate::ports::Secrets>,
    ) -> Result<Self, SourceError> {
        let mut sources = Self::none();
        if let Some(config) = GraphConfig::from_settings(lookup, secrets.as_ref()).await? {
            let reader = GraphReader::new(config)?.with_secret_source(secrets.clone());
            sources = sources.with(Arc::new(reader));
        }
        if let Some(config) = BambooHrConfig::from_settings(lookup, secrets.as_ref()).await? {
            let reader = BambooHrReader::new(config)?.with_secret_source(secrets.clone());
            sources = sources.with(Arc::new(reader));
        }
        if let Some(config) = OktaConfig::from_settings(lookup, secrets.as_ref()).await? {
            let reader = OktaReader::new(config)?.with_secret_source(secrets.clone());
            sources = sources.with(Arc::new(reader));
        }
        Ok(sources)
    }

    /// The sources that have a reader, for start-up logs.
    pub fn configured(&self) -> Vec<&'static str> {
        let mut names: Vec<_> = self.readers.keys().map(|s| s.as_str()).collect();
        names.sort_unstable();
        names
    }
}

impl std::fmt::Debug for DirectorySources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectorySources")
            .field("configured", &self.configured())
            .finish()
    }
}
