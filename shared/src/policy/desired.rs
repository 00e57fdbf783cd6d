//! A user's desired app set: every catalog app, on every device of a platform it supports.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::{
    AppId, Catalog, Denial, Device, Entitlement, Platform, PushMode, Reason, UserContext,
};

use super::engine::PolicyEngine;
use super::error::PolicyError;
use super::facts::{CatalogFacts, DeviceFacts, UserFacts};
use super::verdict::{RuleError, Verdict};

/// What the policies want one user to have, sorted by app id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DesiredApps {
    pub entitlements: Vec<Entitlement>,
    /// Apps a permit granted but a forbid blocked on every device.
    pub denials: Vec<Denial>,
    /// Policies that failed to evaluate (treated as not applying).
    pub errors: Vec<EvaluationFault>,
}

impl DesiredApps {
    pub fn entitlement(&self, app: &str) -> Option<&Entitlement> {
        self.entitlements.iter().find(|e| e.app_id.as_str() == app)
    }

    pub fn denial(&self, app: &str) -> Option<&Denial> {
        self.denials.iter().find(|d| d.app_id.as_str() == app)
    }

    pub fn app_ids(&self) -> Vec<&str> {
        self.entitlements
            .iter()
            .map(|e| e.app_id.as_str())
            .collect()
    }
}

/// A rule that errored while deciding one app on one device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EvaluationFault {
    pub app_id: AppId,
    pub device_id: Option<String>,
    pub error: RuleError,
}

impl PolicyEngine {
    /// The desired apps of one user. `is_manager`: someone in the org reports to them.
    pub fn desired_for(
        &self,
        context: &UserContext,
        is_manager: bool,
        catalog: &Catalog,
        at: DateTime<Utc>,
    ) -> Result<DesiredApps, PolicyError> {
        let user = UserFacts::new(&context.employee, is_manager)?;
        let catalog = CatalogFacts::new(catalog)?;
        self.desired_with(&user, &context.devices, &catalog, at)
    }

    /// The same with prepared facts, for a fleet: build [`CatalogFacts`] once, [`UserFacts`] once
    /// per user. A user with no device is evaluated against one prospective corporate device per
    /// platform, so a new hire's entitlements exist before enrollment.
    pub fn desired_with(
        &self,
        user: &UserFacts,
        devices: &[Device],
        catalog: &CatalogFacts,
        at: DateTime<Utc>,
    ) -> Result<DesiredApps, PolicyError> {
        let entities = self.entities(user, catalog)?;
        let targets: Vec<DeviceFacts> = if devices.is_empty() {
            Platform::ALL
                .into_iter()
                .map(DeviceFacts::prospective)
                .collect()
        } else {
            devices.iter().map(DeviceFacts::enrolled).collect()
        };
        let contexts = targets
            .iter()
            .map(|d| self.context(d, at))
            .collect::<Result<Vec<_>, _>>()?;

        let mut out = DesiredApps::default();
        for (app_id, app_uid, platforms) in &catalog.apps {
            let mut allowed: Option<Allowed> = None;
            let mut forbids: BTreeMap<String, Reason> = BTreeMap::new();
            for (device, context) in targets.iter().zip(&contexts) {
                if !platforms.contains(&device.platform) {
                    continue;
                }
                let verdict = self.decide(&entities, &user.uid, app_uid, context.clone());
                out.errors
                    .extend(verdict.errors().iter().map(|error| EvaluationFault {
                        app_id: app_id.clone(),
                        device_id: device.device_id.clone(),
                        error: error.clone(),
                    }));
                match verdict {
                    Verdict::Allow {
                        push_mode, reasons, ..
                    } => {
                        let entry = allowed.get_or_insert_with(Allowed::default);
                        entry.auto |= push_mode == PushMode::Auto;
                        entry.devices.extend(device.device_id.clone());
                        for r in reasons {
                            entry.reasons.entry(r.rule_id.clone()).or_insert(r);
                        }
                    }
                    Verdict::Deny { reasons, .. } => {
                        for r in reasons {
                            forbids.entry(r.rule_id.clone()).or_insert(r);
                        }
                    }
                    Verdict::NoPermit { .. } => {}
                }
            }
            if let Some(allowed) = allowed {
                out.entitlements.push(Entitlement {
                    app_id: app_id.clone(),
                    push_mode: if allowed.auto {
                        PushMode::Auto
                    } else {
                        PushMode::OnDemand
                    },
                    reasons: allowed.reasons.into_values().collect(),
                    devices: allowed.devices,
                });
            } else if !forbids.is_empty() {
                out.denials.push(Denial {
                    app_id: app_id.clone(),
                    reasons: forbids.into_values().collect(),
                });
            }
        }
        for fault in &out.errors {
            tracing::warn!(
                app = %fault.app_id,
                rule = %fault.error.rule_id,
                error = %fault.error.message,
                "policy failed to evaluate and was treated as not applying"
            );
        }
        Ok(out)
    }
}

#[derive(Default)]
struct Allowed {
    auto: bool,
    devices: Vec<String>,
    reasons: BTreeMap<String, Reason>,
}
