//! Which facts about a user and their devices a policy set can read. Two users who agree on
//! these facts get the same decision, so a fleet is decided once per cohort of such users
//! ([`super::cohort`]). Read from each policy's JSON form; any use of the principal or the
//! context that is not understood here widens the inputs (up to "every user is their own
//! cohort"), so the analysis can cost sharing but never correctness.

use std::collections::BTreeSet;

use cedar_policy::PolicySet;
use serde_json::Value;

const GROUP_TYPE: &str = "Loadout::Group";

/// The user and device facts a policy set reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyInputs {
    /// Principal attributes read (`department`, `is_manager`, ...).
    pub user_attributes: BTreeSet<String>,
    /// Groups named in membership tests (`principal in Loadout::Group::"pilot"`).
    pub groups: BTreeSet<String>,
    /// A membership test against something other than group literals: every group matters.
    pub all_groups: bool,
    /// A policy names a user or uses the principal in a way not analysed: decide users one by one.
    pub identity: bool,
    /// Fields of `context.device` read (`ownership`, `compliant`, ...). The platform always
    /// matters: it decides which apps are evaluated on a device at all.
    pub device_fields: BTreeSet<String>,
    /// The device record is used whole, or the context in a way not analysed: every field matters.
    pub whole_device: bool,
}

impl PolicyInputs {
    pub fn of(policies: &PolicySet) -> Self {
        let mut inputs = PolicyInputs::default();
        for policy in policies.policies() {
            match policy.to_json() {
                Ok(json) => inputs.read_policy(&json),
                // Cannot happen for a parsed static policy; stay correct if it does.
                Err(_) => {
                    inputs.identity = true;
                    inputs.whole_device = true;
                }
            }
        }
        inputs
    }

    /// Whether `name` (a principal attribute) is read.
    pub fn reads_user(&self, name: &str) -> bool {
        self.identity || self.user_attributes.contains(name)
    }

    /// Whether `field` of the device is read.
    pub fn reads_device(&self, field: &str) -> bool {
        self.whole_device || field == "platform" || self.device_fields.contains(field)
    }

    /// Whether membership of `group` can change a decision.
    pub fn reads_group(&self, group: &str) -> bool {
        self.identity || self.all_groups || self.groups.contains(group)
    }

    fn read_policy(&mut self, policy: &Value) {
        if let Some(scope) = policy.get("principal") {
            self.read_principal_scope(scope);
        }
        if let Some(Value::Array(conditions)) = policy.get("conditions") {
            for condition in conditions {
                if let Some(body) = condition.get("body") {
                    self.read_expr(body);
                }
            }
        }
    }

    fn read_principal_scope(&mut self, scope: &Value) {
        match scope.get("op").and_then(Value::as_str) {
            Some("All") => {}
            Some("in") => self.read_membership(scope.get("entity")),
            Some("is") => {
                if let Some(inner) = scope.get("in") {
                    self.read_membership(inner.get("entity"));
                }
            }
            // `principal == User::"..."` and anything newer than this code.
            _ => self.identity = true,
        }
    }

    /// `principal in X`: group literals are facts of the cohort; anything else is identity.
    fn read_membership(&mut self, target: Option<&Value>) {
        let Some(target) = target else {
            self.identity = true;
            return;
        };
        let literals: Vec<&Value> = match target.get("Set") {
            Some(Value::Array(items)) => items.iter().collect(),
            _ => vec![target],
        };
        for literal in literals {
            match entity_literal(literal) {
                Some((kind, id)) if kind == GROUP_TYPE => {
                    self.groups.insert(id.to_owned());
                }
                // `principal in User::"bob"` is true only for bob.
                Some(_) => self.identity = true,
                None => self.all_groups = true,
            }
        }
    }

    fn read_expr(&mut self, expr: &Value) {
        match expr {
            Value::Object(map) => {
                for key in [".", "has"] {
                    if let Some(access) = map.get(key) {
                        self.read_access(access);
                        return;
                    }
                }
                if let Some(test) = map.get("in")
                    && is_var(test.get("left"), "principal")
                {
                    self.read_membership(test.get("right"));
                    return;
                }
                if let Some(test) = map.get("is")
                    && is_var(test.get("left"), "principal")
                {
                    if let Some(inner) = test.get("in") {
                        self.read_membership(Some(inner));
                    }
                    return;
                }
                match map.get("Var").and_then(Value::as_str) {
                    Some("principal") => self.identity = true,
                    Some("context") => self.whole_device = true,
                    _ => map.values().for_each(|v| self.read_expr(v)),
                }
            }
            Value::Array(items) => items.iter().for_each(|v| self.read_expr(v)),
            _ => {}
        }
    }

    /// `left.attr` or `left has attr`.
    fn read_access(&mut self, access: &Value) {
        let left = access.get("left");
        let attr = access.get("attr").and_then(Value::as_str);
        match (left, attr) {
            (Some(left), Some(attr)) if is_var(Some(left), "principal") => {
                self.user_attributes.insert(attr.to_owned());
            }
            (Some(left), Some(attr)) if is_context_device(left) => {
                self.device_fields.insert(attr.to_owned());
            }
            (Some(left), Some(attr)) if is_var(Some(left), "context") => match attr {
                // The same for every user of one run.
                "hour" | "weekday" => {}
                _ => self.whole_device = true,
            },
            (Some(left), _) => self.read_expr(left),
            (None, _) => {}
        }
    }
}

fn is_var(value: Option<&Value>, name: &str) -> bool {
    value
        .and_then(|v| v.get("Var"))
        .and_then(Value::as_str)
        .is_some_and(|v| v == name)
}

fn is_context_device(value: &Value) -> bool {
    value.get(".").is_some_and(|access| {
        is_var(access.get("left"), "context")
            && access.get("attr").and_then(Value::as_str) == Some("device")
    })
}

/// `{"type", "id"}` (scope) or `{"Value": {"__entity": {"type", "id"}}}` (expression).
fn entity_literal(value: &Value) -> Option<(&str, &str)> {
    let entity = value
        .get("Value")
        .and_then(|v| v.get("__entity"))
        .or_else(|| value.get("__entity"))
        .unwrap_or(value);
    Some((entity.get("type")?.as_str()?, entity.get("id")?.as_str()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn inputs(text: &str) -> PolicyInputs {
        PolicyInputs::of(&PolicySet::from_str(text).expect("parses"))
    }

    #[test]
    fn reads_the_attributes_groups_and_device_fields_a_policy_names() {
        let found = inputs(
            r#"permit(principal in Loadout::Group::"eng", action, resource)
               when { principal.department == "Sales" && principal in Loadout::Group::"pilot"
                      && context.device.ownership != "Employee" && context.hour > 3
                      && principal has title };"#,
        );
        assert_eq!(
            found.user_attributes,
            ["department", "title"].map(String::from).into()
        );
        assert_eq!(found.groups, ["eng", "pilot"].map(String::from).into());
        assert_eq!(found.device_fields, ["ownership".to_owned()].into());
        assert!(!found.identity && !found.all_groups && !found.whole_device);
        assert!(found.reads_device("platform"), "platform always matters");
        assert!(!found.reads_device("model"));
    }

    #[test]
    fn naming_a_user_makes_every_user_their_own_cohort() {
        assert!(inputs(r#"permit(principal == Loadout::User::"bob", action, resource);"#).identity);
        assert!(
            inputs(
                r#"permit(principal, action, resource) when { [Loadout::User::"bob"].contains(principal) };"#
            )
            .identity
        );
        assert!(
            inputs(
                r#"permit(principal, action, resource) when { principal in Loadout::User::"bob" };"#
            )
            .identity
        );
    }

    #[test]
    fn using_the_device_record_whole_makes_every_field_matter() {
        let found = inputs(
            r#"permit(principal, action, resource) when { context.device == context.device };"#,
        );
        assert!(found.whole_device);
        assert!(found.reads_device("model"));
    }

    #[test]
    fn unrestricted_policies_read_nothing_but_the_platform() {
        let found = inputs("permit(principal, action, resource);");
        assert_eq!(found, PolicyInputs::default());
    }
}
