//! What an admin does by hand in the console, for tests of drift repair: the same state and
//! rules the REST routes use, without going through HTTP (so these edits are not in the call
//! log and do not count as a client's mutations).

use super::{SimHandle, lock};
use crate::groups::MemberList;
use crate::state::{Rejection, TenantState};
use crate::tenant::PushMode;
use tokio::time::Instant;

impl SimHandle {
    fn admin_edit<T>(
        &self,
        edit: impl FnOnce(&mut TenantState) -> Result<T, Rejection>,
    ) -> Result<T, Rejection> {
        let mut s = lock(&self.shared.state);
        let out = edit(&mut s)?;
        s.sync_installs(Instant::now());
        Ok(out)
    }

    /// Adds a user (by user name, key or id) to a group's `UserAdditions`; no change if they
    /// are there already.
    pub fn add_group_member(&self, group_id: i64, user: &str) -> Result<(), Rejection> {
        self.admin_edit(|s| {
            let id = s
                .resolve_user(user)
                .map(|u| u.id)
                .ok_or_else(|| Rejection::bad_request(format!("User {user} not found.")))?;
            let group = s.groups.get_mut(&group_id).ok_or_else(|| {
                Rejection::not_found(format!("Smart group {group_id} not found."))
            })?;
            group.add_member(MemberList::UserAdditions, id);
            Ok(())
        })
    }

    /// Takes a user out of a group's `UserAdditions`. Like the console, refuses to leave a
    /// user-based group with nobody in it.
    pub fn remove_group_member(&self, group_id: i64, user: &str) -> Result<(), Rejection> {
        self.admin_edit(|s| {
            let id = s
                .resolve_user(user)
                .map(|u| u.id)
                .ok_or_else(|| Rejection::bad_request(format!("User {user} not found.")))?;
            let mut group = s.groups.get(&group_id).cloned().ok_or_else(|| {
                Rejection::not_found(format!("Smart group {group_id} not found."))
            })?;
            if !group.remove_member(MemberList::UserAdditions, id) {
                return Err(Rejection::bad_request(format!(
                    "User {user} is not in smart group {group_id}."
                )));
            }
            s.check_criteria_type(&group)?;
            s.groups.insert(group_id, group);
            Ok(())
        })
    }

    /// Deletes a group as `DELETE /api/mdm/smartgroups/{id}` does: refused while an app is
    /// assigned to it.
    pub fn delete_group(&self, group_id: i64) -> Result<(), Rejection> {
        self.admin_edit(|s| s.delete_group(group_id))
    }

    /// Deletes a group the way an admin gets it done: first out of every app's assignments,
    /// then the group.
    pub fn delete_group_and_assignments(&self, group_id: i64) -> Result<(), Rejection> {
        self.admin_edit(|s| {
            let uuid = s
                .groups
                .get(&group_id)
                .map(|g| g.uuid.clone())
                .ok_or_else(|| {
                    Rejection::not_found(format!("Smart group {group_id} not found."))
                })?;
            for entry in s.assignments.values_mut() {
                for rule in &mut entry.rules {
                    rule.smart_groups.retain(|g| !g.eq_ignore_ascii_case(&uuid));
                }
                entry.rules.retain(|r| !r.smart_groups.is_empty());
            }
            s.delete_group(group_id)
        })
    }

    /// Removes a group from an app's assignments.
    pub fn delete_assignment(&self, app_id: i64, group_id: i64) -> Result<(), Rejection> {
        self.admin_edit(|s| s.remove_assignment(app_id, group_id))
    }

    /// Changes the push mode an app's assignment gives a group.
    pub fn set_push_mode(
        &self,
        app_id: i64,
        group_id: i64,
        mode: PushMode,
    ) -> Result<(), Rejection> {
        self.admin_edit(|s| s.change_push_mode(app_id, group_id, mode))
    }

    /// Deletes an app from the catalog, with its assignments.
    pub fn delete_app(&self, app_id: i64) -> Result<(), Rejection> {
        self.admin_edit(|s| s.delete_app(app_id))
    }
}
