//! App assignments: v1 `POST .../assignments` adds a rule for the groups with a push mode; v2
//! `assignment-rules` replaces the whole ordered rule list (as WorkSpaceOneImporter uses them). A group in
//! two rules of one app is accepted (no source says UEM refuses it); the first rule wins.

use crate::state::{Rejection, TenantState, get_ci};
use crate::tenant::{PushMode, SimApp};
use serde_json::{Value, json};

/// One assignment rule of an app (v2 shape; v1 assignments are stored the same way).
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Smart group uuids.
    pub smart_groups: Vec<String>,
    pub mode: PushMode,
    /// The `distribution` object as sent, for echoing fields the simulator does not interpret.
    pub distribution: Value,
    pub restriction: Value,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct AppAssignments {
    /// In priority order.
    pub rules: Vec<Rule>,
    /// Smart group uuids.
    pub excluded: Vec<String>,
}

impl AppAssignments {
    /// The push mode of the first rule that names this group.
    pub fn mode_for(&self, group_uuid: &str) -> Option<PushMode> {
        self.rules
            .iter()
            .find(|r| {
                r.smart_groups
                    .iter()
                    .any(|g| g.eq_ignore_ascii_case(group_uuid))
            })
            .map(|r| r.mode)
    }
}

impl TenantState {
    /// v1 `POST /api/mam/apps/{type}/{id}/assignments`: a new rule for the groups, after the
    /// existing ones.
    pub fn add_v1_assignment(&mut self, app_id: i64, body: &Value) -> Result<(), Rejection> {
        let ids = get_ci(body, "SmartGroupIds")
            .and_then(Value::as_array)
            .filter(|a| !a.is_empty())
            .ok_or_else(|| Rejection::bad_request("SmartGroupIds is required."))?;
        let mut uuids = Vec::new();
        for id in ids {
            let id = id
                .as_i64()
                .or_else(|| id.as_str().and_then(|s| s.trim().parse().ok()))
                .ok_or_else(|| Rejection::bad_request("SmartGroupIds must be integers."))?;
            let group = self.groups.get(&id).ok_or_else(|| {
                Rejection::bad_request(format!("Smart group id : {id} not found"))
            })?;
            uuids.push(group.uuid.clone());
        }
        let params = get_ci(body, "DeploymentParameters")
            .cloned()
            .unwrap_or(json!({}));
        let mode = match get_ci(&params, "PushMode").and_then(Value::as_str) {
            None => PushMode::OnDemand,
            Some(m) => PushMode::parse(m)
                .ok_or_else(|| Rejection::bad_request(format!("Invalid PushMode '{m}'.")))?,
        };
        let entry = self.assignments.entry(app_id).or_default();
        let flag = |k: &str| get_ci(&params, k).and_then(Value::as_bool).unwrap_or(false);
        entry.rules.push(Rule {
            smart_groups: uuids,
            mode,
            distribution: json!({
                "name": format!("Assignment {}", entry.rules.len() + 1),
                "display_in_app_catalog": get_ci(&params, "VisibleInAppCatalog").and_then(Value::as_bool).unwrap_or(true),
                "auto_update_devices_with_previous_versions": flag("AutoUpdateDevicesWithPreviousVersion"),
            }),
            restriction: json!({
                "remove_on_unenroll": flag("RemoveOnUnEnroll"),
                "desired_state_management": flag("MacOsDesiredStateManagement"),
            }),
        });
        Ok(())
    }

    /// v2 `PUT /api/mam/apps/{uuid}/assignment-rules`: replaces the whole rule set, ordered by
    /// `priority`.
    pub fn put_v2_rules(&mut self, app_id: i64, body: &Value) -> Result<(), Rejection> {
        let list = get_ci(body, "assignments")
            .and_then(Value::as_array)
            .ok_or_else(|| Rejection::bad_request("assignments is required."))?;
        let mut rules: Vec<(i64, Rule)> = Vec::new();
        for (i, item) in list.iter().enumerate() {
            let dist = get_ci(item, "distribution")
                .filter(|d| d.is_object())
                .ok_or_else(|| {
                    Rejection::bad_request(format!("assignments[{i}].distribution is required."))
                })?;
            let groups = get_ci(dist, "smart_groups")
                .and_then(Value::as_array)
                .ok_or_else(|| {
                    Rejection::bad_request(format!(
                        "assignments[{i}].distribution.smart_groups is required."
                    ))
                })?;
            let mut uuids = Vec::new();
            for g in groups {
                let uuid = g.as_str().ok_or_else(|| {
                    Rejection::bad_request("smart_groups must list smart group uuids.")
                })?;
                let group = self.group_by_uuid(uuid).ok_or_else(|| {
                    Rejection::bad_request(format!("Smart group {uuid} not found."))
                })?;
                uuids.push(group.uuid.clone());
            }
            let mode = match get_ci(dist, "app_delivery_method").and_then(Value::as_str) {
                Some(m) => PushMode::parse(m).ok_or_else(|| {
                    Rejection::bad_request(format!("Invalid app_delivery_method '{m}'."))
                })?,
                None => {
                    return Err(Rejection::bad_request(format!(
                        "assignments[{i}].distribution.app_delivery_method is required."
                    )));
                }
            };
            let priority = get_ci(item, "priority")
                .and_then(Value::as_i64)
                .unwrap_or(i as i64);
            rules.push((
                priority,
                Rule {
                    smart_groups: uuids,
                    mode,
                    distribution: dist.clone(),
                    restriction: get_ci(item, "restriction").cloned().unwrap_or(json!({})),
                },
            ));
        }
        rules.sort_by_key(|(p, _)| *p);
        let mut excluded = Vec::new();
        if let Some(list) = get_ci(body, "excluded_smart_groups").and_then(Value::as_array) {
            for g in list {
                let uuid = g.as_str().unwrap_or_default();
                let group = self.group_by_uuid(uuid).ok_or_else(|| {
                    Rejection::bad_request(format!("Smart group {uuid} not found."))
                })?;
                excluded.push(group.uuid.clone());
            }
        }
        self.assignments.insert(
            app_id,
            AppAssignments {
                rules: rules.into_iter().map(|(_, r)| r).collect(),
                excluded,
            },
        );
        Ok(())
    }

    /// Takes one smart group out of every rule of an app (rules left empty go too), as
    /// `DELETE /api/mam/apps/{type}/{id}/smartgroups/{sgId}` or an admin in the console does.
    pub fn remove_assignment(&mut self, app_id: i64, group_id: i64) -> Result<(), Rejection> {
        let uuid = self
            .groups
            .get(&group_id)
            .map(|g| g.uuid.clone())
            .ok_or_else(|| Rejection::not_found(format!("Smart group {group_id} not found.")))?;
        let entry = self.assignments.get_mut(&app_id).ok_or_else(|| {
            Rejection::not_found(format!("Application {app_id} has no assignments."))
        })?;
        let before: usize = entry.rules.iter().map(|r| r.smart_groups.len()).sum();
        for rule in &mut entry.rules {
            rule.smart_groups.retain(|g| !g.eq_ignore_ascii_case(&uuid));
        }
        entry.rules.retain(|r| !r.smart_groups.is_empty());
        let after: usize = entry.rules.iter().map(|r| r.smart_groups.len()).sum();
        if before == after {
            return Err(Rejection::not_found(format!(
                "Smart group {group_id} is not assigned to application {app_id}."
            )));
        }
        Ok(())
    }

    /// Changes the push mode the group gets for an app, as an admin editing the assignment
    /// would: a rule that names only this group changes; a group that shares its rule moves to
    /// a rule of its own right after it.
    pub fn change_push_mode(
        &mut self,
        app_id: i64,
        group_id: i64,
        mode: PushMode,
    ) -> Result<(), Rejection> {
        let uuid = self
            .groups
            .get(&group_id)
            .map(|g| g.uuid.clone())
            .ok_or_else(|| Rejection::not_found(format!("Smart group {group_id} not found.")))?;
        let entry = self.assignments.get_mut(&app_id).ok_or_else(|| {
            Rejection::not_found(format!("Application {app_id} has no assignments."))
        })?;
        let at = entry
            .rules
            .iter()
            .position(|r| r.smart_groups.iter().any(|g| g.eq_ignore_ascii_case(&uuid)))
            .ok_or_else(|| {
                Rejection::not_found(format!(
                    "Smart group {group_id} is not assigned to application {app_id}."
                ))
            })?;
        let rule = &mut entry.rules[at];
        if rule.smart_groups.len() == 1 {
            rule.mode = mode;
            return Ok(());
        }
        rule.smart_groups.retain(|g| !g.eq_ignore_ascii_case(&uuid));
        let mut own = rule.clone();
        own.smart_groups = vec![uuid];
        own.mode = mode;
        entry.rules.insert(at + 1, own);
        Ok(())
    }

    /// Removes an app from the catalog with its assignments and installs.
    pub fn delete_app(&mut self, app_id: i64) -> Result<(), Rejection> {
        let before = self.apps.len();
        self.apps.retain(|a| a.id != app_id);
        if self.apps.len() == before {
            return Err(Rejection::not_found(format!(
                "Application {app_id} not found."
            )));
        }
        self.assignments.remove(&app_id);
        self.installs.retain(|(_, a), _| *a != app_id);
        Ok(())
    }

    pub fn v2_rules_json(&self, app: &SimApp) -> Value {
        let entry = self.assignments.get(&app.id).cloned().unwrap_or_default();
        let assignments: Vec<Value> = entry
            .rules
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let mut dist = r.distribution.as_object().cloned().unwrap_or_default();
                dist.insert("smart_groups".into(), json!(r.smart_groups));
                dist.insert("app_delivery_method".into(), json!(r.mode.as_v2()));
                dist.entry("name")
                    .or_insert(json!(format!("Assignment {}", i + 1)));
                // What UEM fills in when a rule leaves it out.
                for (k, v) in [
                    ("description", json!("")),
                    ("effective_date", json!("2026-01-01T00:00:00")),
                    ("auto_update_devices_with_previous_versions", json!(false)),
                    ("display_in_app_catalog", json!(true)),
                    ("requires_approval", json!(false)),
                    ("keep_app_updated_automatically", json!(true)),
                ] {
                    dist.entry(k).or_insert(v);
                }
                let mut restriction = r.restriction.as_object().cloned().unwrap_or_default();
                for k in [
                    "remove_on_unenroll",
                    "desired_state_management",
                    "prevent_removal",
                    "make_app_mdm_managed",
                ] {
                    restriction.entry(k).or_insert(json!(false));
                }
                json!({
                    "priority": i,
                    "distribution": dist,
                    "restriction": restriction,
                    "tunnel": {},
                    "application_configuration": [],
                })
            })
            .collect();
        json!({
            "id": app.id,
            "uuid": app.uuid,
            "assignments": assignments,
            "excluded_smart_groups": entry.excluded,
        })
    }
}
