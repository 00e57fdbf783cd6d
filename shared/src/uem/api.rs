//! The `UemApi` operations over REST. Every mutation is idempotent by construction: smart groups
//! and assignment rules are read, changed and written back whole (`groups.rs`,
//! `assignments.rs`); a create looks the name up first (and again before retrying); a delete of
//! something already gone succeeds. Reads of users and apps are cached in the state store.

use super::assignments::{rule_groups, rule_mode, same_uuid};
use super::client::{Call, UemClient};
use super::groups::member_json;
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
use std::collections::BTreeMap;

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

impl From<CachedUser> for UemUser {
    fn from(c: CachedUser) -> Self {
        UemUser {
            id: c.id,
            uuid: c.uuid,
            username: c.username,
            email: c.email,
        }
    }
}

impl From<&UemUser> for CachedUser {
    fn from(u: &UemUser) -> Self {
        CachedUser {
            id: u.id,
            uuid: u.uuid.clone(),
            username: u.username.clone(),
            email: u.email.clone(),
        }
    }
}

/// Up to this many users missing from the cache are searched by name; more, and the client pages
/// through all users instead (one call per 500 users rather than one per name).
const SEARCH_USERS_BY_NAME_UP_TO: usize = 5;

/// A guard against a server that never stops paging (half a million users at 500 a page).
const MAX_USER_PAGES: u64 = 1_000;

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

    /// Pages through every enrollment user (no filter), caching each one seen and moving the
    /// `missing` ones it meets into `found`. Stops once none is missing, at the last page, or
    /// when the pages left would cost more calls than searching the rest by name (a tenant far
    /// larger than the backlog); whatever is still missing is left for that. True when every
    /// user was read.
    async fn page_all_users(
        &self,
        missing: &mut BTreeMap<String, Vec<&String>>,
        found: &mut BTreeMap<String, UemUser>,
    ) -> Result<bool, UemError> {
        let size = u64::from(self.config.page_size);
        let mut seen = 0u64;
        for page in 0u64..MAX_USER_PAGES {
            let call = Call::get("/api/system/users/search", "user").query(vec![
                ("page", page.to_string()),
                ("pagesize", size.to_string()),
            ]);
            let answer = self.call(&call).await?;
            if answer.status == 204 || answer.body.is_null() {
                return Ok(true);
            }
            let batch = wire::list(&answer.body, &["Users"]);
            if batch.is_empty() {
                return Ok(true);
            }
            for item in batch {
                let Ok(user) = wire::user(item) else {
                    continue;
                };
                self.cache_put("user", &user.username, &CachedUser::from(&user))
                    .await;
                if let Some(names) = missing.remove(&user.username.to_ascii_lowercase()) {
                    for name in names {
                        found.insert(name.clone(), user.clone());
                    }
                }
            }
            seen += batch.len() as u64;
            let total = wire::total(&answer.body);
            let last = match total {
                Some(total) => seen >= total,
                None => (batch.len() as u64) < size,
            };
            if last {
                return Ok(true);
            }
            if missing.is_empty() {
                return Ok(false);
            }
            if let Some(total) = total {
                let pages_left = (total - seen).div_ceil(size.max(1)) as usize;
                if pages_left > missing.len() {
                    return Ok(false);
                }
            }
        }
        Ok(false)
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
}

#[async_trait]
impl UemApi for UemClient {
    async fn find_user(&self, username: &str) -> Result<Option<UemUser>, UemError> {
        if let Some(c) = self.cache_get::<CachedUser>("user", username).await {
            return Ok(Some(c.into()));
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
        self.cache_put("user", username, &CachedUser::from(&user))
            .await;
        Ok(Some(user))
    }

    async fn find_users(
        &self,
        usernames: &[String],
    ) -> Result<BTreeMap<String, UemUser>, UemError> {
        let mut found = BTreeMap::new();
        // Lower-cased name -> the names as given (a caller may spell one user two ways).
        let mut missing: BTreeMap<String, Vec<&String>> = BTreeMap::new();
        for name in usernames {
            if found.contains_key(name) {
                continue;
            }
            match self.cache_get::<CachedUser>("user", name).await {
                Some(c) => {
                    found.insert(name.clone(), c.into());
                }
                None => missing
                    .entry(name.to_ascii_lowercase())
                    .or_default()
                    .push(name),
            }
        }
        if missing.len() > SEARCH_USERS_BY_NAME_UP_TO
            && self.page_all_users(&mut missing, &mut found).await?
        {
            // Every user was read: whoever is still missing is not in UEM.
            return Ok(found);
        }
        for names in missing.into_values() {
            if let Some(user) = self.find_user(names[0]).await? {
                for name in names {
                    found.insert(name.clone(), user.clone());
                }
            }
        }
        Ok(found)
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
