//! Enrollment users created and deleted at runtime: by the API (v1 `POST
//! /api/system/users/adduser`, v2 `POST /api/system/users`, `DELETE`), or by a test standing in
//! for a directory sync. User names are unique in the tenant, case-insensitively (inferred).

use crate::groups::MemberList;
use crate::state::{Rejection, TenantState, get_ci};
use crate::tenant::builder::{identity_clash, make_user};
use crate::tenant::{SimUser, UserSeed};
use serde_json::Value;

impl TenantState {
    pub fn add_user(&mut self, seed: &UserSeed) -> Result<SimUser, Rejection> {
        if seed.username.trim().is_empty() {
            return Err(Rejection::bad_request("UserName is required."));
        }
        if let Some(clash) = identity_clash(&self.users, seed) {
            return Err(Rejection::bad_request(format!(
                "User name '{clash}' is already in use."
            )));
        }
        let id = self.users.iter().map(|u| u.id).max().unwrap_or(999) + 1;
        let user = make_user(seed, id, self.seed);
        self.users.push(user.clone());
        Ok(user)
    }

    /// Removes the user, their devices and every smart-group entry that named them.
    pub fn delete_user(&mut self, id: i64) -> Result<SimUser, Rejection> {
        let at = self
            .users
            .iter()
            .position(|u| u.id == id)
            .ok_or_else(|| Rejection::not_found(format!("User {id} not found.")))?;
        let user = self.users.remove(at);
        let gone: Vec<i64> = self
            .devices
            .iter()
            .filter(|d| d.user_id == id)
            .map(|d| d.id)
            .collect();
        self.devices.retain(|d| d.user_id != id);
        for g in self.groups.values_mut() {
            g.remove_member(MemberList::UserAdditions, id);
            g.remove_member(MemberList::UserExclusions, id);
            for d in &gone {
                g.remove_member(MemberList::DeviceAdditions, *d);
                g.remove_member(MemberList::DeviceExclusions, *d);
            }
        }
        self.installs.retain(|(d, _), _| !gone.contains(d));
        Ok(user)
    }

    /// The user a v1 (PascalCase) or v2 (camelCase) create body describes; keys are matched
    /// case-insensitively, so `UserName` and `userName` both work.
    pub(crate) fn user_seed_of(body: &Value, v2: bool) -> Result<UserSeed, Rejection> {
        let text = |keys: &[&str]| {
            keys.iter().find_map(|k| {
                get_ci(body, k)
                    .and_then(Value::as_str)
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
            })
        };
        let username =
            text(&["UserName"]).ok_or_else(|| Rejection::bad_request("UserName is required."))?;
        // pyws1uem documents securityType as required on the v2 create.
        if v2 && text(&["securityType"]).is_none() {
            return Err(Rejection::bad_request("securityType is required."));
        }
        let email = text(&["emailAddress", "Email"]).unwrap_or_default();
        let mut seed = UserSeed::new(&username, &email);
        if let (Some(first), Some(last)) = (text(&["FirstName"]), text(&["LastName"])) {
            seed = seed.names(&first, &last);
        }
        if let Some(status) = get_ci(body, "Status") {
            seed = seed.active(match status {
                Value::Bool(b) => *b,
                Value::String(s) => {
                    !s.eq_ignore_ascii_case("false") && !s.eq_ignore_ascii_case("inactive")
                }
                _ => true,
            });
        }
        Ok(seed)
    }
}
