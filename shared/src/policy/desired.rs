//! A user's desired app set: every catalog app, on every device of a platform it supports.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use cedar_policy::Entities;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::{
    AppId, Catalog, Denial, Device, Entitlement, Platform, PushMode, Reason, UserContext,
};

use super::cohort::DeviceKey;
use super::engine::PolicyEngine;
use super::error::PolicyError;
use super::facts::{CatalogFacts, DeviceFacts, UserFacts};
use super::slice::Slices;
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
        let targets = targets_of(devices.iter());
        let decided = self.desired_on(user, &targets, catalog, at, None)?;
        Ok(decided
            .materialize(|position| (position, devices.get(position).map(|d| d.device_id.clone()))))
    }

    /// Decides every catalog app on `targets`; the outcome names devices by their position in
    /// `targets`, so that one evaluation can stand for every user of a cohort. With `slices`,
    /// each app is decided on its slice of the policies (the same answer, faster).
    pub(crate) fn desired_on(
        &self,
        user: &UserFacts,
        targets: &[DeviceFacts],
        catalog: &CatalogFacts,
        at: DateTime<Utc>,
        slices: Option<&Slices>,
    ) -> Result<DesiredOn, PolicyError> {
        let entities = self.entities(user, catalog)?;
        let verdicts = targets
            .iter()
            .map(|device| self.verdicts_on(user, &entities, device, catalog, at, slices))
            .collect::<Result<Vec<_>, _>>()?;
        let by_target: Vec<&[Option<Verdict>]> = verdicts.iter().map(Vec::as_slice).collect();
        let mut out = merge(catalog, &by_target);
        out.evaluations = count(&by_target);
        Ok(out)
    }

    /// The same for one principal of a fleet: each distinct device is evaluated once for all of
    /// the principal's cohorts.
    pub(crate) fn desired_cached(
        &self,
        principal: &Principal,
        targets: &[DeviceFacts],
        catalog: &CatalogFacts,
        at: DateTime<Utc>,
        slices: &Slices,
    ) -> Result<DesiredOn, PolicyError> {
        let mut fresh = 0;
        let mut verdicts = Vec::with_capacity(targets.len());
        for device in targets {
            let key = DeviceKey::of(self.inputs(), device);
            let known = principal.verdicts.borrow().get(&key).cloned();
            let found = match known {
                Some(found) => found,
                None => {
                    let computed = Rc::new(self.verdicts_on(
                        &principal.user,
                        &principal.entities,
                        device,
                        catalog,
                        at,
                        Some(slices),
                    )?);
                    fresh += computed.iter().flatten().count();
                    principal
                        .verdicts
                        .borrow_mut()
                        .insert(key, computed.clone());
                    computed
                }
            };
            verdicts.push(found);
        }
        let by_target: Vec<&[Option<Verdict>]> = verdicts.iter().map(|v| v.as_slice()).collect();
        let mut out = merge(catalog, &by_target);
        out.evaluations = fresh;
        Ok(out)
    }

    /// Every catalog app's verdict on one device, in catalog order (`None`: the app does not
    /// run on the device's platform).
    fn verdicts_on(
        &self,
        user: &UserFacts,
        entities: &Entities,
        device: &DeviceFacts,
        catalog: &CatalogFacts,
        at: DateTime<Utc>,
        slices: Option<&Slices>,
    ) -> Result<Vec<Option<Verdict>>, PolicyError> {
        let context = self.context(device, at)?;
        Ok(catalog
            .apps
            .iter()
            .enumerate()
            .map(|(position, (_, app_uid, platforms))| {
                platforms.contains(&device.platform).then(|| {
                    let sets = slices.map_or_else(|| self.sets(), |s| s.for_app(position));
                    self.decide(sets, entities, &user.uid, app_uid, context.clone())
                })
            })
            .collect())
    }
}

/// A principal of a fleet, prepared once for all of their cohorts: facts, entities, and the
/// verdicts of each distinct device evaluated so far. Lives in one worker thread.
pub(crate) struct Principal {
    user: UserFacts,
    entities: Entities,
    verdicts: RefCell<HashMap<DeviceKey, Rc<Vec<Option<Verdict>>>>>,
}

impl Principal {
    pub(crate) fn new(
        engine: &PolicyEngine,
        user: UserFacts,
        catalog: &CatalogFacts,
    ) -> Result<Self, PolicyError> {
        let entities = engine.entities(&user, catalog)?;
        Ok(Self {
            user,
            entities,
            verdicts: RefCell::new(HashMap::new()),
        })
    }
}

fn count(by_target: &[&[Option<Verdict>]]) -> usize {
    by_target.iter().map(|v| v.iter().flatten().count()).sum()
}

/// Combines the verdicts on each target into the decision: an app is entitled where any device
/// allows it (pushed if any allowing rule pushes), denied when a forbid blocked it everywhere a
/// permit applied.
fn merge(catalog: &CatalogFacts, by_target: &[&[Option<Verdict>]]) -> DesiredOn {
    let mut out = DesiredOn::default();
    for (app_position, (app_id, _, _)) in catalog.apps.iter().enumerate() {
        let mut allowed: Option<Allowed> = None;
        let mut forbids: BTreeMap<String, Reason> = BTreeMap::new();
        for (position, verdicts) in by_target.iter().enumerate() {
            let Some(Some(verdict)) = verdicts.get(app_position) else {
                continue;
            };
            out.errors.extend(
                verdict
                    .errors()
                    .iter()
                    .map(|error| (app_position, position, app_id.clone(), error.clone())),
            );
            match verdict {
                Verdict::Allow {
                    push_mode, reasons, ..
                } => {
                    let entry = allowed.get_or_insert_with(Allowed::default);
                    entry.auto |= *push_mode == PushMode::Auto;
                    entry.positions.push(position);
                    for r in reasons {
                        entry
                            .reasons
                            .entry(r.rule_id.clone())
                            .or_insert_with(|| r.clone());
                    }
                }
                Verdict::Deny { reasons, .. } => {
                    for r in reasons {
                        forbids
                            .entry(r.rule_id.clone())
                            .or_insert_with(|| r.clone());
                    }
                }
                Verdict::NoPermit { .. } => {}
            }
        }
        if let Some(allowed) = allowed {
            out.entitlements.push((
                app_id.clone(),
                if allowed.auto {
                    PushMode::Auto
                } else {
                    PushMode::OnDemand
                },
                allowed.reasons.into_values().collect(),
                allowed.positions,
            ));
        } else if !forbids.is_empty() {
            out.denials.push(Denial {
                app_id: app_id.clone(),
                reasons: forbids.into_values().collect(),
            });
        }
    }
    for (_, _, app, error) in &out.errors {
        tracing::warn!(
            app = %app,
            rule = %error.rule_id,
            error = %error.message,
            "policy failed to evaluate and was treated as not applying"
        );
    }
    out
}

/// The devices a user is decided on: their enrolled devices, or one prospective corporate device
/// per platform when they have none yet.
pub(crate) fn targets_of<'a>(
    devices: impl ExactSizeIterator<Item = &'a Device>,
) -> Vec<DeviceFacts> {
    if devices.len() == 0 {
        Platform::ALL
            .into_iter()
            .map(DeviceFacts::prospective)
            .collect()
    } else {
        devices.map(DeviceFacts::enrolled).collect()
    }
}

/// One user's (or one cohort's) decision with devices named by target position.
#[derive(Debug, Clone, Default)]
pub(crate) struct DesiredOn {
    /// App, push mode, reasons, and the target positions it is allowed on (ascending).
    entitlements: Vec<(AppId, PushMode, Vec<Reason>, Vec<usize>)>,
    denials: Vec<Denial>,
    /// Catalog position, target position, app, error; in evaluation order.
    errors: Vec<(usize, usize, AppId, RuleError)>,
    /// Cedar requests answered (one per app and target of a supported platform).
    pub(crate) evaluations: usize,
}

impl DesiredOn {
    /// Entitled apps and their push modes, in catalog order.
    pub(crate) fn entitled(&self) -> impl Iterator<Item = (&AppId, PushMode)> {
        self.entitlements
            .iter()
            .map(|(app, push, _, _)| (app, *push))
    }

    /// The decision for one user: `device` maps a target position to the user's own device
    /// order (used to sort) and device id (`None` for a prospective device).
    pub(crate) fn materialize(
        &self,
        device: impl Fn(usize) -> (usize, Option<String>),
    ) -> DesiredApps {
        let entitlements = self
            .entitlements
            .iter()
            .map(|(app_id, push_mode, reasons, positions)| {
                let mut devices: Vec<(usize, Option<String>)> =
                    positions.iter().map(|p| device(*p)).collect();
                devices.sort_by_key(|(order, _)| *order);
                Entitlement {
                    app_id: app_id.clone(),
                    push_mode: *push_mode,
                    reasons: reasons.clone(),
                    devices: devices.into_iter().filter_map(|(_, id)| id).collect(),
                }
            })
            .collect();
        let mut errors: Vec<(usize, usize, EvaluationFault)> = self
            .errors
            .iter()
            .map(|(app_position, position, app_id, error)| {
                let (order, device_id) = device(*position);
                (
                    *app_position,
                    order,
                    EvaluationFault {
                        app_id: app_id.clone(),
                        device_id,
                        error: error.clone(),
                    },
                )
            })
            .collect();
        // Stable: a verdict's own errors keep their order.
        errors.sort_by_key(|(app, order, _)| (*app, *order));
        DesiredApps {
            entitlements,
            denials: self.denials.clone(),
            errors: errors.into_iter().map(|(_, _, fault)| fault).collect(),
        }
    }
}

#[derive(Default)]
struct Allowed {
    auto: bool,
    positions: Vec<usize>,
    reasons: BTreeMap<String, Reason>,
}
