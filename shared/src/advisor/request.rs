//! What the adviser is asked about one person, built from what the decision stage already knows.
//!
//! The request keeps the person's identifying strings (never sent) beside the cohort attributes
//! (sent), so that the reply can be screened for them.

use crate::domain::{
    AppId, AppUsage, Catalog, Device, Employee, Platform, Risk, UserContext, UserId,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The attributes shared by everyone in the person's cohort: all the model learns about them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cohort {
    pub department: String,
    pub title: String,
    pub location: String,
    pub region: String,
    pub employment_type: String,
    /// The platforms of the person's devices (never the devices themselves).
    pub platforms: BTreeSet<Platform>,
}

/// How many people in the person's cohort use each app (counts only, no one named).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerUsage {
    /// Which attributes define the cohort, in words (`"department, title and location"`).
    pub cohort: String,
    /// How many people the cohort has.
    pub size: u32,
    pub apps: Vec<PeerApp>,
}

impl PeerUsage {
    /// Counts, for every app, how many `members` used it in the period (at least one launch).
    /// `cohort` says in words who the members are.
    pub fn count<'a>(
        cohort: impl Into<String>,
        members: impl IntoIterator<Item = &'a [AppUsage]>,
    ) -> Self {
        let mut size = 0u32;
        let mut users: BTreeMap<&AppId, u32> = BTreeMap::new();
        for usage in members {
            size += 1;
            let used: BTreeSet<&AppId> = usage
                .iter()
                .filter(|u| u.launches_30d > 0)
                .map(|u| &u.app_id)
                .collect();
            for app in used {
                *users.entry(app).or_default() += 1;
            }
        }
        Self {
            cohort: cohort.into(),
            size,
            apps: users
                .into_iter()
                .map(|(app_id, users)| PeerApp {
                    app_id: app_id.clone(),
                    users,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerApp {
    pub app_id: AppId,
    /// People in the cohort who use the app.
    pub users: u32,
}

/// The part of a catalog entry the model sees: no UEM ids, no costs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogEntry {
    pub id: AppId,
    pub name: String,
    pub bundles: Vec<String>,
    pub licensed: bool,
    pub risk: Risk,
    /// Where the app runs: not sent, but an app for none of the person's platforms is not offered.
    pub platforms: BTreeSet<Platform>,
}

/// One question to the adviser.
#[derive(Debug, Clone, PartialEq)]
pub struct AdviceRequest {
    user_id: UserId,
    /// Strings that identify the person (ids, e-mail, account names, device ids): never sent,
    /// and a reply that contains one is rejected.
    personal: Vec<String>,
    pub cohort: Cohort,
    /// Apps the person has now.
    pub current: BTreeSet<AppId>,
    /// Apps the policies give them (they will get these anyway).
    pub desired: BTreeSet<AppId>,
    /// Apps the policies forbid for them: never offered, never shown, rejected if named.
    pub forbidden: BTreeSet<AppId>,
    pub peers: Option<PeerUsage>,
    pub catalog: Vec<CatalogEntry>,
}

impl AdviceRequest {
    pub fn new(employee: &Employee, devices: &[Device], catalog: &Catalog) -> Self {
        let mut personal = vec![employee.id.0.clone(), employee.email.clone()];
        if let Some((local, _)) = employee.email.split_once('@') {
            personal.push(local.to_owned());
        }
        personal.extend(employee.manager_id.iter().map(|m| m.0.clone()));
        personal.extend(employee.account_name.iter().cloned());
        if let Some(upn) = &employee.upn {
            personal.push(upn.clone());
            if let Some((local, _)) = upn.split_once('@') {
                personal.push(local.to_owned());
            }
        }
        personal.extend(devices.iter().map(|d| d.device_id.clone()));
        // Short strings would match ordinary words; they identify no one on their own.
        personal.retain(|s| s.trim().chars().count() >= 3);
        personal.sort();
        personal.dedup();
        Self {
            user_id: employee.id.clone(),
            personal,
            cohort: Cohort {
                department: employee.department.clone(),
                title: employee.title.clone(),
                location: employee.location.clone(),
                region: employee.region.clone(),
                employment_type: employee.employment_type.clone(),
                platforms: devices.iter().map(|d| d.platform).collect(),
            },
            current: BTreeSet::new(),
            desired: BTreeSet::new(),
            forbidden: BTreeSet::new(),
            peers: None,
            catalog: catalog
                .apps()
                .map(|app| CatalogEntry {
                    id: app.id.clone(),
                    name: app.name.clone(),
                    bundles: app.bundles.clone(),
                    licensed: app.licensed,
                    risk: app.risk,
                    platforms: app.platforms.iter().copied().collect(),
                })
                .collect(),
        }
    }

    /// The request for an enriched user: their devices, and as current apps what UEM reports
    /// installed and what they used in the period.
    pub fn for_context(context: &UserContext, catalog: &Catalog) -> Self {
        let used = context
            .usage
            .iter()
            .filter(|u| u.launches_30d > 0)
            .map(|u| u.app_id.clone());
        Self::new(&context.employee, &context.devices, catalog)
            .with_current(context.installed.iter().cloned().chain(used))
    }

    pub fn with_current(mut self, apps: impl IntoIterator<Item = AppId>) -> Self {
        self.current.extend(apps);
        self
    }

    pub fn with_desired(mut self, apps: impl IntoIterator<Item = AppId>) -> Self {
        self.desired.extend(apps);
        self
    }

    pub fn with_forbidden(mut self, apps: impl IntoIterator<Item = AppId>) -> Self {
        self.forbidden.extend(apps);
        self
    }

    pub fn with_peers(mut self, peers: PeerUsage) -> Self {
        self.peers = Some(peers);
        self
    }

    /// The person asked about (pseudonymized before anything is sent).
    pub fn user_id(&self) -> &UserId {
        &self.user_id
    }

    /// The identifying strings a reply must not contain.
    pub fn personal_strings(&self) -> &[String] {
        &self.personal
    }

    pub fn in_catalog(&self, app: &AppId) -> bool {
        self.catalog.iter().any(|e| &e.id == app)
    }

    /// The ids the model may name: catalog apps the person neither has, nor will get, nor is
    /// forbidden, and that run on one of their platforms (any app, before they have a device).
    pub fn offered(&self) -> Vec<&AppId> {
        let mine = &self.cohort.platforms;
        self.catalog
            .iter()
            .filter(|e| mine.is_empty() || !e.platforms.is_disjoint(mine))
            .map(|e| &e.id)
            .filter(|id| {
                !self.forbidden.contains(*id)
                    && !self.current.contains(*id)
                    && !self.desired.contains(*id)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn used(app: &str, launches: u32) -> AppUsage {
        AppUsage {
            app_id: AppId::new(app),
            launches_30d: launches,
            last_used_at: None,
        }
    }

    #[test]
    fn only_apps_for_the_persons_platforms_are_offered() {
        let catalog = Catalog::from_yaml(
            "- {id: ios-only, name: A, uem_app_id: '1', platforms: [iOS], risk: low}\n\
             - {id: both, name: B, uem_app_id: '2', platforms: [iOS, Windows], risk: low}\n\
             - {id: had, name: C, uem_app_id: '3', platforms: [Windows], risk: low}\n",
        )
        .expect("catalog");
        let employee = Employee {
            id: UserId::new("u1"),
            email: "u1@corp.example".into(),
            department: String::new(),
            title: String::new(),
            location: String::new(),
            region: String::new(),
            employment_type: String::new(),
            manager_id: None,
            groups: vec![],
            account_name: None,
            upn: None,
        };
        let laptop = Device {
            device_id: "D1".into(),
            user_id: UserId::new("u1"),
            platform: Platform::Windows,
            os_version: "11".into(),
            model: "x".into(),
            ownership: crate::domain::Ownership::Corporate,
            compliant: true,
            free_storage_mb: None,
        };
        let with_laptop =
            AdviceRequest::new(&employee, &[laptop], &catalog).with_current([AppId::new("had")]);
        let offered: Vec<&str> = with_laptop.offered().iter().map(|a| a.as_str()).collect();
        assert_eq!(offered, ["both"]);
        let new_hire = AdviceRequest::new(&employee, &[], &catalog);
        assert_eq!(new_hire.offered().len(), 3);
    }

    #[test]
    fn an_enriched_users_installed_and_used_apps_are_current() {
        let catalog = Catalog::from_yaml(
            "- {id: a, name: A, uem_app_id: '1', platforms: [iOS], risk: low}\n\
             - {id: b, name: B, uem_app_id: '2', platforms: [iOS], risk: low}\n\
             - {id: c, name: C, uem_app_id: '3', platforms: [iOS], risk: low}\n",
        )
        .expect("catalog");
        let context = UserContext {
            employee: Employee {
                id: UserId::new("u1"),
                email: "u1@corp.example".into(),
                department: "Sales".into(),
                title: String::new(),
                location: String::new(),
                region: String::new(),
                employment_type: String::new(),
                manager_id: None,
                groups: vec![],
                account_name: None,
                upn: None,
            },
            devices: vec![],
            installed: vec![AppId::new("a")],
            usage: vec![used("b", 2), used("c", 0)],
            fetched_at: chrono::Utc::now(),
            uem_user: None,
            parked: None,
        };
        let request = AdviceRequest::for_context(&context, &catalog);
        let current: Vec<&str> = request.current.iter().map(|a| a.as_str()).collect();
        assert_eq!(current, ["a", "b"]);
        assert_eq!(request.cohort.department, "Sales");
    }

    #[test]
    fn peers_are_counted_once_per_app_and_only_when_they_used_it() {
        let a = [used("gong", 3), used("gong", 1), used("slack", 9)];
        let b = [used("gong", 0), used("slack", 2)];
        let c: [AppUsage; 0] = [];
        let peers = PeerUsage::count("department", [&a[..], &b[..], &c[..]]);
        assert_eq!(peers.size, 3);
        let counts: Vec<(&str, u32)> = peers
            .apps
            .iter()
            .map(|p| (p.app_id.as_str(), p.users))
            .collect();
        assert_eq!(counts, [("gong", 1), ("slack", 2)]);
    }
}
