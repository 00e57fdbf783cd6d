//! An employee as HR and the identity provider describe them.

use super::ids::UserId;
use serde::{Deserialize, Serialize};

/// The attributes policies may use. Groups become Cedar parents of the user.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Employee {
    pub id: UserId,
    pub email: String,
    #[serde(default)]
    pub department: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub location: String,
    #[serde(default)]
    pub region: String,
    #[serde(default)]
    pub employment_type: String,
    #[serde(default)]
    pub manager_id: Option<UserId>,
    #[serde(default)]
    pub groups: Vec<String>,
    /// The directory account name (`sAMAccountName`), when a source knows it: UEM users synced
    /// from a directory usually carry it as their user name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_name: Option<String>,
    /// The user principal name (`first.last@corp.example`), when a source knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upn: Option<String>,
}

impl Employee {
    /// The attribute names that a mover event may change and that policies read.
    pub const POLICY_FIELDS: [&'static str; 7] = [
        "department",
        "title",
        "location",
        "region",
        "employment_type",
        "manager_id",
        "groups",
    ];

    /// Which policy-relevant fields differ between two versions of the same employee.
    pub fn changed_fields(&self, newer: &Employee) -> Vec<String> {
        let mut changed = Vec::new();
        let pairs: [(&str, bool); 7] = [
            ("department", self.department != newer.department),
            ("title", self.title != newer.title),
            ("location", self.location != newer.location),
            ("region", self.region != newer.region),
            (
                "employment_type",
                self.employment_type != newer.employment_type,
            ),
            ("manager_id", self.manager_id != newer.manager_id),
            ("groups", self.groups != newer.groups),
        ];
        for (name, differs) in pairs {
            if differs {
                changed.push(name.to_owned());
            }
        }
        changed
    }

    /// A short, non-identifying label for logs: the id only, never the e-mail.
    pub fn log_label(&self) -> &str {
        self.id.as_str()
    }
}
