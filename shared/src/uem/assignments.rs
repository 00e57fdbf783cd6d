//! An app's assignments, through the v2 assignment rules (uem-api.md §3.5, §6.2): read the whole
//! ordered rule list, change the one group's place in it, and PUT it all back with `priority` =
//! position. Concurrent writers of one app must take turns (the executor's app lease), since
//! the PUT replaces every rule of the app.

use super::client::{Call, UemClient};
use super::port::{AssignmentSpec, SmartGroupRef, UemApi, UemApp, UemError};
use super::wire;
use crate::domain::PushMode;
use reqwest::Method;
use serde_json::{Value, json};

impl UemClient {
    /// The app's uuid and its assignment rules (v2), as read.
    pub(super) async fn rules(&self, app: &UemApp) -> Result<(String, Value), UemError> {
        let uuid = if app.uuid.is_empty() {
            self.find_app(&app.id.to_string())
                .await?
                .map(|a| a.uuid)
                .filter(|u| !u.is_empty())
                .ok_or_else(|| UemError::NotFound {
                    what: format!("app {}", app.id),
                    activity_id: None,
                })?
        } else {
            app.uuid.clone()
        };
        let path = format!("/api/mam/apps/{uuid}/assignment-rules");
        let answer = self
            .call(&Call::get(path, "app assignment rules").version(2))
            .await?;
        // 204 means the app has no rules; anything else must be readable, since the PUT that
        // follows resends every rule: an unreadable body taken as "none" would unassign the
        // app from every group admins gave it.
        if answer.status == 204 {
            return Ok((uuid, json!({ "assignments": [] })));
        }
        let readable = answer.body.is_object()
            && matches!(
                wire::field(&answer.body, &["assignments"]),
                Some(Value::Array(_)) | None
            );
        if !readable {
            return Err(UemError::Decode(format!(
                "assignment rules of app {}: not an object with an assignments list",
                app.id
            )));
        }
        Ok((uuid, answer.body))
    }

    async fn put_rules(
        &self,
        uuid: &str,
        mut body: Value,
        rules: Vec<Value>,
    ) -> Result<(), UemError> {
        // PUT replaces the whole set: resend every rule, priority = position (uem-api.md §6.2).
        let rules: Vec<Value> = rules
            .into_iter()
            .enumerate()
            .map(|(i, mut r)| {
                if let Some(obj) = r.as_object_mut() {
                    obj.retain(|k, _| !k.eq_ignore_ascii_case("priority"));
                    obj.insert("priority".into(), json!(i));
                }
                r
            })
            .collect();
        if let Some(obj) = body.as_object_mut() {
            obj.retain(|k, _| !k.eq_ignore_ascii_case("assignments"));
            obj.insert("assignments".into(), Value::Array(rules));
        }
        let call = Call::new(
            Method::PUT,
            format!("/api/mam/apps/{uuid}/assignment-rules"),
            "app assignment rules",
        )
        .version(2)
        .body(body);
        self.call(&call).await.map(|_| ())
    }

    pub(super) async fn put_assignment(
        &self,
        app: &UemApp,
        group: &SmartGroupRef,
        spec: AssignmentSpec,
    ) -> Result<(), UemError> {
        let (uuid, body) = self.rules(app).await?;
        let rules = wire::list(&body, &["assignments"]).to_vec();
        let current = rules
            .iter()
            .find(|r| rule_groups(r).iter().any(|g| same_uuid(g, &group.uuid)));
        if current.and_then(rule_spec) == Some(spec) {
            return Ok(());
        }
        let (mut rules, _) = without_group(&rules, &group.uuid);
        let method = match spec.push_mode {
            PushMode::Auto => "AUTO",
            PushMode::OnDemand => "ON_DEMAND",
        };
        rules.push(json!({
            "distribution": {
                "name": group.name,
                "description": "Managed by Loadout",
                "smart_groups": [group.uuid],
                "app_delivery_method": method,
                "display_in_app_catalog": true,
                "requires_approval": spec.requires_approval,
                "auto_update_devices_with_previous_versions": false,
                "keep_app_updated_automatically": true,
            },
            "restriction": {
                "remove_on_unenroll": true,
                "prevent_removal": false,
                "make_app_mdm_managed": true,
            },
        }));
        self.put_rules(&uuid, body, rules).await
    }

    pub(super) async fn remove_assignment(
        &self,
        app: &UemApp,
        group: &SmartGroupRef,
    ) -> Result<(), UemError> {
        let (uuid, body) = match self.rules(app).await {
            Ok(x) => x,
            Err(UemError::NotFound { .. }) => return Ok(()),
            Err(e) => return Err(e),
        };
        let rules = wire::list(&body, &["assignments"]).to_vec();
        let (rules, changed) = without_group(&rules, &group.uuid);
        if !changed {
            return Ok(());
        }
        self.put_rules(&uuid, body, rules).await
    }
}

pub(super) fn rule_groups(rule: &Value) -> Vec<String> {
    wire::field(rule, &["distribution"])
        .map(|d| wire::list(d, &["smart_groups"]))
        .unwrap_or(&[])
        .iter()
        .filter_map(|g| match g {
            Value::String(s) => Some(s.clone()),
            other => wire::text(other, &["uuid", "smart_group_uuid", "Uuid"]),
        })
        .collect()
}

pub(super) fn rule_mode(rule: &Value) -> Option<PushMode> {
    let method = wire::field(rule, &["distribution"])
        .and_then(|d| wire::text(d, &["app_delivery_method"]))?;
    PushMode::parse(&method)
}

/// How a rule assigns its groups: delivery method and whether installs need approval.
pub(super) fn rule_spec(rule: &Value) -> Option<AssignmentSpec> {
    let requires_approval = wire::field(rule, &["distribution"])
        .and_then(|d| wire::field(d, &["requires_approval"]))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    Some(AssignmentSpec {
        push_mode: rule_mode(rule)?,
        requires_approval,
    })
}

pub(super) fn same_uuid(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// The rules with `group` taken out of every rule; rules left with no group are dropped.
pub(super) fn without_group(rules: &[Value], group: &str) -> (Vec<Value>, bool) {
    let mut changed = false;
    let mut out = Vec::new();
    for rule in rules {
        let groups = rule_groups(rule);
        if !groups.iter().any(|g| same_uuid(g, group)) {
            out.push(rule.clone());
            continue;
        }
        changed = true;
        let kept: Vec<String> = groups
            .into_iter()
            .filter(|g| !same_uuid(g, group))
            .collect();
        if kept.is_empty() {
            continue;
        }
        let mut rule = rule.clone();
        if let Some(dist) = rule
            .as_object_mut()
            .and_then(|o| {
                o.iter_mut()
                    .find(|(k, _)| k.eq_ignore_ascii_case("distribution"))
            })
            .and_then(|(_, d)| d.as_object_mut())
        {
            dist.retain(|k, _| !k.eq_ignore_ascii_case("smart_groups"));
            dist.insert("smart_groups".into(), json!(kept));
        }
        out.push(rule);
    }
    (out, changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(groups: &[&str], method: &str) -> Value {
        json!({"priority": 0, "distribution": {"smart_groups": groups, "app_delivery_method": method}})
    }

    #[test]
    fn the_v2_sample_reads_as_an_auto_assignment() {
        let body: Value =
            serde_json::from_str(include_str!("samples/assignment_rules_v2.json")).unwrap();
        let rules = wire::list(&body, &["assignments"]);
        assert_eq!(
            rules_groups_of(rules),
            ["5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9"]
        );
        assert_eq!(rule_mode(&rules[0]), Some(PushMode::Auto));
    }

    fn rules_groups_of(rules: &[Value]) -> Vec<String> {
        rules.iter().flat_map(rule_groups).collect()
    }

    #[test]
    fn taking_a_group_out_keeps_the_rest_of_its_rule() {
        let rules = vec![rule(&["A", "b"], "AUTO"), rule(&["c"], "ON_DEMAND")];
        let (out, changed) = without_group(&rules, "a");
        assert!(changed);
        assert_eq!(rule_groups(&out[0]), ["b"]);
        assert_eq!(rule_mode(&out[1]), Some(PushMode::OnDemand));
        let (out, changed) = without_group(&out, "c");
        assert!(changed);
        assert_eq!(out.len(), 1, "a rule left with no group is dropped");
        let (_, changed) = without_group(&out, "zzz");
        assert!(!changed);
    }
}
