//! Which catalog app a source's app name means. Intelligence names desktop apps as DEEM sees
//! them (`Slack`, `Slack.app`, `slack.exe`), UEM by name and bundle id; each tracked app lists
//! the names it goes by, compared case-insensitively with a trailing `.app`/`.exe` ignored.

use crate::domain::{AppId, CatalogApp};
use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackedApp {
    pub app: AppId,
    /// Names (and bundle ids) sources report the app under.
    pub names: Vec<String>,
}

impl TrackedApp {
    pub fn new(app: impl Into<AppId>, names: &[&str]) -> Self {
        Self {
            app: app.into(),
            names: names.iter().map(|n| (*n).to_owned()).collect(),
        }
    }

    /// The catalog's name for the app; add aliases to `names` where a source differs.
    pub fn from_catalog(app: &CatalogApp) -> Self {
        Self {
            app: app.id.clone(),
            names: vec![app.name.clone()],
        }
    }
}

fn normalize(name: &str) -> String {
    let lower = name.trim().to_lowercase();
    for suffix in [".app", ".exe"] {
        if let Some(stem) = lower.strip_suffix(suffix)
            && !stem.is_empty()
        {
            return stem.to_owned();
        }
    }
    lower
}

#[derive(Debug, Clone, Default)]
pub struct AppMatcher {
    by_name: HashMap<String, AppId>,
}

impl AppMatcher {
    pub fn new(apps: &[TrackedApp]) -> Self {
        let mut by_name = HashMap::new();
        for app in apps {
            for name in &app.names {
                by_name.insert(normalize(name), app.app.clone());
            }
        }
        Self { by_name }
    }

    pub fn find(&self, reported: &str) -> Option<&AppId> {
        self.by_name.get(&normalize(reported))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn desktop_names_match_the_catalog_name() {
        let m = AppMatcher::new(&[
            TrackedApp::new("slack", &["Slack"]),
            TrackedApp::new("zoom", &["Zoom Workplace", "zoom"]),
        ]);
        assert_eq!(m.find("Slack.app").map(AppId::as_str), Some("slack"));
        assert_eq!(m.find("SLACK"), m.find("slack.exe"));
        assert_eq!(m.find("Zoom.exe").map(AppId::as_str), Some("zoom"));
        assert_eq!(m.find("Slacker"), None);
        assert_eq!(m.find(".app"), None);
    }
}
