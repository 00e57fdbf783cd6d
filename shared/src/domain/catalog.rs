//! The app catalog: every app Loadout may manage, with what governance needs to know about it.

use super::device::Platform;
use super::ids::AppId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Risk {
    #[default]
    Low,
    Medium,
    High,
}

impl Risk {
    pub fn as_str(self) -> &'static str {
        match self {
            Risk::Low => "low",
            Risk::Medium => "medium",
            Risk::High => "high",
        }
    }
}

/// How far an app has graduated in a careful rollout (gate 3): its own setting beats the
/// service's mode, until its review date passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Automation {
    /// Everything the policies decide for this app runs.
    Auto,
    /// Low-risk changes run, the rest waits for approval.
    Gated,
    /// Nothing runs for this app: recommendations only.
    Recommend,
}

impl Automation {
    pub fn as_str(self) -> &'static str {
        match self {
            Automation::Auto => "auto",
            Automation::Gated => "gated",
            Automation::Recommend => "recommend",
        }
    }
}

/// A licensed app's seats and the rules for taking unused ones back (license reclamation).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LicenseTerms {
    /// Seats bought; assignments past it wait on the app's waitlist. Unset: not counted.
    #[serde(default)]
    pub seats: Option<u32>,
    /// Days without use after which a seat is a candidate for reclamation. Unset: never.
    #[serde(default)]
    pub inactivity_days: Option<u32>,
    /// Days before the reclamation on which the holder is told (e.g. 14, 7, 1).
    #[serde(default)]
    pub notice_days: Vec<u32>,
    /// Directory groups whose members keep their seat whatever their use.
    #[serde(default)]
    pub exempt_groups: Vec<String>,
    /// People who keep their seat whatever their use.
    #[serde(default)]
    pub exempt_users: Vec<super::ids::UserId>,
    /// Seats never reclaimed below this many holders.
    #[serde(default)]
    pub min_seats: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogApp {
    pub id: AppId,
    pub name: String,
    /// UEM's id of the app: the numeric id shown in the console, or its uuid.
    pub uem_app_id: String,
    pub platforms: Vec<Platform>,
    #[serde(default)]
    pub bundles: Vec<String>,
    #[serde(default)]
    pub licensed: bool,
    #[serde(default)]
    pub cost_per_seat: f64,
    pub risk: Risk,
    /// Core apps (the basics everyone gets): in gated mode their removal waits for approval.
    #[serde(default)]
    pub core: bool,
    /// This app's own gate, overriding the service's mode until `automation_review_by`.
    #[serde(default)]
    pub automation: Option<Automation>,
    /// When the app's own gate must be reviewed; past it the app falls back to gated.
    #[serde(default)]
    pub automation_review_by: Option<chrono::NaiveDate>,
    /// Offered in Intelligent Hub but installed only after approval ("Require Approval To
    /// Install" on its on-demand assignment; the request goes through ServiceNow).
    #[serde(default)]
    pub approval_on_request: bool,
    #[serde(default)]
    pub license: LicenseTerms,
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("catalog is not valid YAML: {0}")]
    Yaml(#[from] serde_yaml_ng::Error),
    #[error("catalog lists app id {0:?} twice")]
    DuplicateId(String),
    #[error("catalog app {0:?} has no platform")]
    NoPlatform(String),
    #[error("catalog app id {0:?} is not a valid id (use lowercase letters, digits, '-' and '_')")]
    InvalidId(String),
    #[error("catalog app {0:?} has a negative cost per seat")]
    NegativeCost(String),
}

/// An ordered, validated catalog.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Catalog {
    apps: BTreeMap<AppId, CatalogApp>,
}

impl Catalog {
    pub fn from_yaml(text: &str) -> Result<Self, CatalogError> {
        let apps: Vec<CatalogApp> = serde_yaml_ng::from_str(text)?;
        Self::from_apps(apps)
    }

    pub fn from_apps(apps: Vec<CatalogApp>) -> Result<Self, CatalogError> {
        let mut map = BTreeMap::new();
        for app in apps {
            let valid_id =
                !app.id.0.is_empty()
                    && app.id.0.chars().all(|c| {
                        c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_'
                    });
            if !valid_id {
                return Err(CatalogError::InvalidId(app.id.0));
            }
            if app.platforms.is_empty() {
                return Err(CatalogError::NoPlatform(app.id.0));
            }
            if app.cost_per_seat < 0.0 {
                return Err(CatalogError::NegativeCost(app.id.0));
            }
            if map.contains_key(&app.id) {
                return Err(CatalogError::DuplicateId(app.id.0));
            }
            map.insert(app.id.clone(), app);
        }
        Ok(Self { apps: map })
    }

    pub fn get(&self, id: &AppId) -> Option<&CatalogApp> {
        self.apps.get(id)
    }

    pub fn apps(&self) -> impl Iterator<Item = &CatalogApp> {
        self.apps.values()
    }

    pub fn len(&self) -> usize {
        self.apps.len()
    }

    pub fn is_empty(&self) -> bool {
        self.apps.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_duplicate_ids() {
        let yaml = "- {id: slack, name: Slack, uem_app_id: '1', platforms: [iOS], risk: low}\n\
                    - {id: slack, name: Slack, uem_app_id: '2', platforms: [iOS], risk: low}\n";
        assert!(matches!(
            Catalog::from_yaml(yaml),
            Err(CatalogError::DuplicateId(id)) if id == "slack"
        ));
    }

    #[test]
    fn rejects_unknown_fields_so_typos_surface() {
        let yaml = "- {id: slack, name: Slack, uem_app_id: '1', platforms: [iOS], risk: low, licenced: true}\n";
        assert!(matches!(
            Catalog::from_yaml(yaml),
            Err(CatalogError::Yaml(_))
        ));
    }

    #[test]
    fn parses_a_licensed_app() {
        let yaml = "- {id: salesforce, name: Salesforce, uem_app_id: '12', platforms: [iOS, Android], bundles: [sales], licensed: true, cost_per_seat: 25.0, risk: medium}\n";
        let catalog = Catalog::from_yaml(yaml).expect("valid catalog");
        let app = catalog.get(&AppId::from("salesforce")).expect("present");
        assert!(app.licensed);
        assert_eq!(app.platforms, vec![Platform::Ios, Platform::Android]);
    }
}
