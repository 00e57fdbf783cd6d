//! The `UemApi` operations over REST. Every mutation is idempotent by construction: smart groups
//! and assignment rules are read, changed and written back whole; a create looks the name up
//! first (and again before retrying); a delete of something already gone succeeds.

use super::client::{Call, UemClient};
use super::port::{
    GroupMember, InstalledApp, SmartGroup, SmartGroupRef, UemApi, UemApp, UemError, UemUser,
    apply_member_change,
};
use super::wire;
use crate::domain::{Device, PushMode};
use crate::ports::Condition;
use async_trait::async_trait;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub const CACHE_PK: &str = "uem#cache";

/// Keys of a smart group GET that the PUT schema does not accept (uem-api.md §3.4).
const SERVER_COUNTS: &[&str] = &["Devices", "Assignments", "Exclusions"];

#[derive(Debug, Serialize, Deserialize)]
struct CachedUser {
    id: i64,
    uuid: Option<String>,
    username: String,
    email: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct CachedApp {
    id: i64,
    uuid: String,
    name: String,
    app_type: String,
}

impl UemClient {
    fn cache_key(&self, kind: &str, key: &str) -> String {
        format!(
            "{}#{kind}#{}",
            self.config.tenant_key(),
            key.to_ascii_lowercase()
        )
    }

    async fn cache_get<T: for<'de> Deserialize<'de>>(&self, kind: &str, key: &str) -> Option<T> {
        // The cache is an optimisation: a store failure just means asking UEM.
        let item = self
            .store
            .get(CACHE_PK, &self.cache_key(kind, key))
            .await
            .ok()??;
        item.decode().ok()
    }

    async fn cache_put<T: Serialize>(&self, kind: &str, key: &str, value: &T) {
        let Ok(data) = serde_json::to_value(value) else {
            return;
        };
        let expires = self.clock.now().timestamp() + self.config.cache_ttl.as_secs() as i64;
        if let Err(e) = self
            .store
            .put(
                CACHE_PK,
                &self.cache_key(kind, key),
                data,
                Some(expires),
                Condition::None,
            )
            .await
        {
            tracing::debug!(error = %e, "could not cache a UEM read");
        }
    }

    async fn app_details(&self, kind: &str, id: i64) -> Result<Option<UemApp>, UemError> {
        let path = format!("/api/mam/apps/{}/{id}", kind.to_ascii_lowercase());
        match self.call(&Call::get(path, "app")).await {
            Ok(answer) if answer.body.is_object() => {
                let mut app = wire::app(&answer.body, Some(kind))?;
                app.id = id;
                Ok(Some(app))
            }
            Ok(_) => Ok(None),
            Err(UemError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn find_app_uncached(&self, key: &str) -> Result<Option<UemApp>, UemError> {
        if let Ok(id) = key.trim().parse::<i64>() {
            for kind in ["Internal", "Public", "Purchased"] {
                if let Some(app) = self.app_details(kind, id).await? {
                    return Ok(Some(app));
                }
            }
            return Ok(None);
        }
        // A uuid: the search has no uuid filter, so scan it.
        let wanted = key.trim().to_ascii_lowercase();
        let matches =
            |v: &Value| wire::text(v, &["Uuid"]).is_some_and(|u| u.to_ascii_lowercase() == wanted);
        let items = self
            .search_all(
                "/api/mam/apps/search",
                &[],
                1,
                &["Application"],
                "app",
                matches,
            )
            .await?;
        items
            .iter()
            .find(|v| matches(v))
            .map(|v| wire::app(v, None))
            .transpose()
    }

    async fn device_numeric_id(&self, device_id: &str) -> Result<String, UemError> {
        if device_id.trim().parse::<i64>().is_ok() {
            return Ok(device_id.trim().to_owned());
        }
        let call = Call::get("/api/mdm/devices", "device").query(vec![
            ("searchby", "Serialnumber".to_owned()),
            ("id", device_id.trim().to_owned()),
        ]);
        let answer = self.call(&call).await?;
        wire::id(&answer.body, &["Id"])
            .map(|id| id.to_string())
            .ok_or_else(|| UemError::Decode("device look-up without an Id".into()))
    }

    /// The app's assignment rules (v2), as read.
    async fn rules(&self, app: &UemApp) -> Result<(String, Value), UemError> {
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
        let body = if answer.body.is_object() {
            answer.body
        } else {
            json!({ "assignments": [] })
        };
        Ok((uuid, body))
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
}

fn rule_groups(rule: &Value) -> Vec<String> {
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

fn rule_mode(rule: &Value) -> Option<PushMode> {
    let method = wire::field(rule, &["distribution"])
        .and_then(|d| wire::text(d, &["app_delivery_method"]))?;
    PushMode::parse(&method)
}

fn same_uuid(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// The rules with `group` taken out of every rule; rules left with no group are dropped.
fn without_group(rules: &[Value], group: &str) -> (Vec<Value>, bool) {
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

fn dedup_members(members: &[GroupMember]) -> Vec<GroupMember> {
    let mut seen = std::collections::BTreeSet::new();
    members
        .iter()
        .filter(|m| seen.insert(m.id.trim().to_owned()))
        .cloned()
        .collect()
}

fn member_json(members: &[GroupMember]) -> Value {
    Value::Array(
        dedup_members(members)
            .iter()
            .map(|m| json!({"Id": m.id.trim(), "Name": m.name}))
            .collect(),
    )
}

#[async_trait]
impl UemApi for UemClient {
    async fn find_user(&self, username: &str) -> Result<Option<UemUser>, UemError> {
        if let Some(c) = self.cache_get::<CachedUser>("user", username).await {
            return Ok(Some(UemUser {
                id: c.id,
                uuid: c.uuid,
                username: c.username,
                email: c.email,
            }));
        }
        // The username filter is a partial match: page until the exact name shows up.
        let exact = |v: &Value| {
            wire::text(v, &["UserName"]).is_some_and(|n| n.eq_ignore_ascii_case(username))
        };
        let items = self
            .search_all(
                "/api/system/users/search",
                &[("username", username.to_owned())],
                1,
                &["Users"],
                "user",
                exact,
            )
            .await?;
        let Some(found) = items.iter().find(|v| exact(v)) else {
            return Ok(None);
        };
        let user = wire::user(found)?;
        self.cache_put(
            "user",
            username,
            &CachedUser {
                id: user.id,
                uuid: user.uuid.clone(),
                username: user.username.clone(),
                email: user.email.clone(),
            },
        )
        .await;
        Ok(Some(user))
    }

    async fn devices_of_user(&self, username: &str) -> Result<Vec<Device>, UemError> {
        let items = self
            .search_all(
                "/api/mdm/devices/search",
                &[("user", username.to_owned())],
                1,
                &["Devices"],
                "devices",
                |_| false,
            )
            .await?;
        let mut devices = Vec::new();
        for item in &items {
            // `user` is a partial match too: keep only this user's devices.
            let owner = wire::text(item, &["UserName"])
                .or_else(|| wire::field(item, &["UserId"]).and_then(|u| wire::text(u, &["Name"])));
            if owner.is_some_and(|o| !o.eq_ignore_ascii_case(username)) {
                continue;
            }
            match wire::device(item, username) {
                Ok(d) => devices.push(d),
                Err(reason) => tracing::info!(%username, %reason, "device skipped"),
            }
        }
        Ok(devices)
    }

    async fn installed_apps(&self, device_id: &str) -> Result<Vec<InstalledApp>, UemError> {
        let is_uuid = device_id.len() == 36 && device_id.matches('-').count() == 4;
        if is_uuid {
            let path = format!("/api/mdm/devices/{}/apps/search", device_id.trim());
            let items = self
                .search_all(&path, &[], 1, &["app_items"], "device apps", |_| false)
                .await?;
            return Ok(items.iter().map(wire::installed_app).collect());
        }
        let id = self.device_numeric_id(device_id).await?;
        let path = format!("/api/mdm/devices/{id}/apps");
        let items = self
            .search_all(&path, &[], 1, &["DeviceApps"], "device apps", |_| false)
            .await?;
        Ok(items.iter().map(wire::installed_app).collect())
    }

    async fn find_app(&self, uem_app_id: &str) -> Result<Option<UemApp>, UemError> {
        if let Some(c) = self.cache_get::<CachedApp>("app", uem_app_id).await {
            return Ok(Some(UemApp {
                id: c.id,
                uuid: c.uuid,
                name: c.name,
                app_type: c.app_type,
            }));
        }
        let Some(app) = self.find_app_uncached(uem_app_id).await? else {
            return Ok(None);
        };
        self.cache_put(
            "app",
            uem_app_id,
            &CachedApp {
                id: app.id,
                uuid: app.uuid.clone(),
                name: app.name.clone(),
                app_type: app.app_type.clone(),
            },
        )
        .await;
        Ok(Some(app))
    }

    async fn find_smart_group(&self, name: &str) -> Result<Option<SmartGroupRef>, UemError> {
        // `name` is a contains match; compare exactly here.
        let exact = |v: &Value| wire::text(v, &["Name"]).is_some_and(|n| n == name);
        let items = self
            .search_all(
                "/api/mdm/smartgroups/search",
                &[("name", name.to_owned())],
                1,
                &["SmartGroups"],
                "smart group",
                exact,
            )
            .await?;
        items
            .iter()
            .find(|v| exact(v))
            .map(wire::smart_group_ref)
            .transpose()
    }

    async fn create_smart_group(
        &self,
        name: &str,
        members: &[GroupMember],
    ) -> Result<SmartGroupRef, UemError> {
        let mut body = json!({
            "Name": name,
            "CriteriaType": "UserDevice",
            "UserAdditions": member_json(members),
            "DeviceAdditions": [],
            "UserExclusions": [],
            "DeviceExclusions": [],
        });
        if let Some(og) = &self.config.organization_group_id {
            body["ManagedByOrganizationGroupId"] = json!(og);
        }
        // Two callers creating the same name at once would make two groups.
        let lease = self.lease(&format!("smartgroup-name#{name}")).await?;
        let result = self.create_smart_group_leased(name, body).await;
        self.release(lease).await;
        result
    }

    async fn get_smart_group(&self, id: i64) -> Result<SmartGroup, UemError> {
        let answer = self
            .call(&Call::get(
                format!("/api/mdm/smartgroups/{id}"),
                "smart group",
            ))
            .await
            .map_err(|e| match e {
                UemError::NotFound { activity_id, .. } => UemError::NotFound {
                    what: format!("smart group {id}"),
                    activity_id,
                },
                other => other,
            })?;
        let mut group = wire::smart_group_ref(&answer.body).or_else(|_| {
            wire::smart_group_ref(
                &json!({"SmartGroupID": id, "Name": wire::text(&answer.body, &["Name"])}),
            )
        })?;
        group.id = id;
        Ok(SmartGroup {
            group,
            users: wire::members(&answer.body, "UserAdditions"),
            raw: answer.body,
        })
    }

    async fn update_smart_group(&self, group: &SmartGroup) -> Result<(), UemError> {
        let mut body = group.raw.clone();
        let Some(obj) = body.as_object_mut() else {
            return Err(UemError::Decode("smart group is not an object".into()));
        };
        obj.retain(|k, _| {
            !SERVER_COUNTS.iter().any(|c| c.eq_ignore_ascii_case(k))
                && !k.eq_ignore_ascii_case("UserAdditions")
        });
        obj.insert("UserAdditions".into(), member_json(&group.users));
        let call = Call::new(
            Method::PUT,
            format!("/api/mdm/smartgroups/{}", group.group.id),
            "smart group",
        )
        .body(body);
        self.call(&call).await.map(|_| ())
    }

    async fn delete_smart_group(&self, id: i64) -> Result<(), UemError> {
        let call = Call::new(
            Method::DELETE,
            format!("/api/mdm/smartgroups/{id}"),
            "smart group",
        );
        match self.call(&call).await {
            Ok(_) | Err(UemError::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn assignment(
        &self,
        app: &UemApp,
        group: &SmartGroupRef,
    ) -> Result<Option<PushMode>, UemError> {
        let (_, body) = self.rules(app).await?;
        let excluded = wire::list(&body, &["excluded_smart_groups"])
            .iter()
            .filter_map(Value::as_str)
            .any(|g| same_uuid(g, &group.uuid));
        if excluded {
            return Ok(None);
        }
        Ok(wire::list(&body, &["assignments"])
            .iter()
            .find(|r| rule_groups(r).iter().any(|g| same_uuid(g, &group.uuid)))
            .and_then(rule_mode))
    }

    async fn assign_app(
        &self,
        app: &UemApp,
        group: &SmartGroupRef,
        push_mode: PushMode,
    ) -> Result<(), UemError> {
        let lease = self.lease(&format!("app#{}", app.id)).await?;
        let result = self.assign_app_leased(app, group, push_mode).await;
        self.release(lease).await;
        result
    }

    async fn unassign_app(&self, app: &UemApp, group: &SmartGroupRef) -> Result<(), UemError> {
        let lease = self.lease(&format!("app#{}", app.id)).await?;
        let result = self.unassign_app_leased(app, group).await;
        self.release(lease).await;
        result
    }

    async fn change_members(
        &self,
        id: i64,
        add: &[GroupMember],
        remove: &[String],
    ) -> Result<SmartGroup, UemError> {
        let lease = self.lease(&format!("smartgroup#{id}")).await?;
        let result = async {
            let mut group = self.get_smart_group(id).await?;
            if apply_member_change(&mut group.users, add, remove) && !group.users.is_empty() {
                self.update_smart_group(&group).await?;
            }
            Ok(group)
        }
        .await;
        self.release(lease).await;
        result
    }
}

impl UemClient {
    async fn create_smart_group_leased(
        &self,
        name: &str,
        body: Value,
    ) -> Result<SmartGroupRef, UemError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            // Look first (and again after an unknown outcome): a create is not safe to resend.
            if let Some(existing) = self.find_smart_group(name).await? {
                return Ok(existing);
            }
            let call =
                Call::new(Method::POST, "/api/mdm/smartgroups", "smart group").body(body.clone());
            match self.call(&call).await {
                Ok(answer) => {
                    let id = wire::id_of(&answer.body).or_else(|| wire::id(&answer.body, &["Id"]));
                    return match id {
                        Some(id) => Ok(self.get_smart_group(id).await?.group),
                        None => self.find_smart_group(name).await?.ok_or_else(|| {
                            UemError::Decode("smart group created but not found".into())
                        }),
                    };
                }
                // Another caller may have created it in between (UEM refuses a second group of
                // the same name): theirs is ours.
                Err(e @ UemError::Validation { .. }) => {
                    return match self.find_smart_group(name).await? {
                        Some(existing) => Ok(existing),
                        None => Err(e),
                    };
                }
                Err(e) if e.is_retryable() && attempt < self.config.max_attempts => {
                    tracing::warn!(%name, attempt, error = %e, "smart group create unsure; checking");
                    self.clock.sleep(self.config.base_backoff).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn assign_app_leased(
        &self,
        app: &UemApp,
        group: &SmartGroupRef,
        push_mode: PushMode,
    ) -> Result<(), UemError> {
        let (uuid, body) = self.rules(app).await?;
        let rules = wire::list(&body, &["assignments"]).to_vec();
        let current = rules
            .iter()
            .find(|r| rule_groups(r).iter().any(|g| same_uuid(g, &group.uuid)));
        if current.and_then(rule_mode) == Some(push_mode) {
            return Ok(());
        }
        let (mut rules, _) = without_group(&rules, &group.uuid);
        let method = match push_mode {
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
                "requires_approval": false,
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

    async fn unassign_app_leased(
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

    #[test]
    fn a_member_change_adds_once_and_removal_wins() {
        let m = |id: &str| GroupMember {
            id: id.into(),
            name: id.into(),
        };
        let mut users = vec![m("1"), m("2")];
        assert!(apply_member_change(
            &mut users,
            &[m("2"), m("3"), m("4")],
            &["1".into(), "4".into()]
        ));
        assert_eq!(users, vec![m("2"), m("3")]);
        assert!(!apply_member_change(&mut users, &[m(" 3")], &[]));
    }

    #[test]
    fn members_are_sent_once_with_string_ids() {
        let m = |id: &str| GroupMember {
            id: id.into(),
            name: format!("user{id}"),
        };
        let body = member_json(&[m("1"), m(" 1"), m("2")]);
        assert_eq!(
            body,
            json!([{"Id": "1", "Name": "user1"}, {"Id": "2", "Name": "user2"}])
        );
    }
}
