//! What the adviser is asked about one person, built from what the decision stage already knows.
//!
//! The request keeps the person's identifying strings (never sent) beside the cohort attributes
//! (sent), so that the reply can be screened for them.

use crate::domain::{AppId, Catalog, Device, Employee, Platform, Risk, UserId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

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
                })
                .collect(),
        }
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
    /// forbidden.
    pub fn offered(&self) -> Vec<&AppId> {
        self.catalog
            .iter()
            .map(|e| &e.id)
            .filter(|id| {
                !self.forbidden.contains(*id)
                    && !self.current.contains(*id)
                    && !self.desired.contains(*id)
            })
            .collect()
    }
}
