//! The `UemApi` operations over REST. Every mutation is idempotent by construction: smart groups
//! and assignment rules are read, changed and written back whole (`groups.rs`,
//! `assignments.rs`); a create looks the name up first (and again before retrying); a delete of
//! something already gone succeeds. App look-ups are cached in the state store; users and
//! devices are read in bulk pages for the inventory, or one person at a time when it misses.

use super::assignments::{rule_groups, rule_spec, same_uuid};
use super::client::{Call, UemClient};
use super::groups::member_json;
use super::port::{
    Assignment, AssignmentSpec, EnrolledDevice, GroupMember, InstalledApp, Page, SmartGroup,
    SmartGroupRef, UemApi, UemApp, UemError, UemUser, UserLookup,
};
use super::wire;
use crate::domain::Device;
use crate::ports::Condition;
use async_trait::async_trait;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub const CACHE_PK: &str = "uem#cache";

/// Keys of a smart group GET that the PUT schema does not accept (uem-api.md §3.4).
const SERVER_COUNTS: &[&str] = &["Devices", "Assignments", "Exclusions"];

#[derive(Debug, Serialize, Deserialize)]
struct CachedApp {
    id: i64,
    uuid: String,
    name: String,
    app_type: String,
    #[serde(default)]
    bundle_id: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    platform: String,
}

impl From<CachedApp> for UemApp {
    fn from(c: CachedApp) -> Self {
        UemApp {
            id: c.id,
            uuid: c.uuid,
            name: c.name,
            app_type: c.app_type,
            bundle_id: c.bundle_id,
            version: c.version,
            platform: c.platform,
        }
    }
}

impl From<&UemApp> for CachedApp {
    fn from(a: &UemApp) -> Self {
        CachedApp {
            id: a.id,
            uuid: a.uuid.clone(),
            name: a.name.clone(),
            app_type: a.app_type.clone(),
            bundle_id: a.bundle_id.clone(),
            version: a.version.clone(),
            platform: a.platform.clone(),
        }
    }
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
}

/// Searches return 204 or an empty list once past the end; `Total` tells where the end is.
/// `read` is how many items the page held before unreadable ones were skipped.
fn page_of<T>(
    answer: &super::client::Answer,
    items: Vec<T>,
    read: usize,
    page: u32,
    size: u32,
) -> Page<T> {
    let empty = answer.status == 204 || answer.body.is_null();
    let seen = (u64::from(page) + 1) * u64::from(size);
    let total = wire::total(&answer.body);
    let last = empty
        || read == 0
        || match total {
            Some(total) => seen >= total,
            None => (read as u64) < u64::from(size),
        };
    Page { items, total, last }
}

#[async_trait]
impl UemApi for UemClient {
    async fn find_users_by(
        &self,
        lookup: UserLookup,
        value: &str,
    ) -> Result<Vec<UemUser>, UemError> {
        let wanted = value.trim();
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        let (param, key) = match lookup {
            UserLookup::UserName => ("username", "UserName"),
            UserLookup::Email => ("email", "Email"),
        };
        // The filter is a partial match: read every page of candidates and compare exactly.
        let exact = |v: &Value| {
            wire::text(v, &[key]).is_some_and(|n| n.trim().eq_ignore_ascii_case(wanted))
        };
        let items = self
            .search_all(
                "/api/system/users/search",
                &[(param, wanted.to_owned())],
                1,
                &["Users"],
                "user",
                |_| false,
            )
            .await?;
        let mut found = Vec::new();
        for item in items.iter().filter(|v| exact(v)) {
            found.push(wire::user(item)?);
        }
        Ok(found)
    }

    async fn users_page(&self, page: u32) -> Result<Page<UemUser>, UemError> {
        let size = self.config.page_size;
        let call = Call::get("/api/system/users/search", "user").query(vec![
            ("page", page.to_string()),
            ("pagesize", size.to_string()),
        ]);
        let answer = self.call(&call).await?;
        let items = wire::list(&answer.body, &["Users"]);
        let mut users = Vec::new();
        for item in items {
            // One unreadable record must not hide the rest of the tenant from the inventory.
            match wire::user(item) {
                Ok(u) => users.push(u),
                Err(e) => tracing::warn!(error = %e, "enrollment user skipped"),
            }
        }
        Ok(page_of(&answer, users, items.len(), page, size))
    }

    async fn devices_page(&self, page: u32) -> Result<Page<EnrolledDevice>, UemError> {
        let size = self.config.page_size;
        let call = Call::get("/api/mdm/devices/search", "devices").query(vec![
            ("page", page.to_string()),
            ("pagesize", size.to_string()),
        ]);
        let answer = self.call(&call).await?;
        let items = wire::list(&answer.body, &["Devices"]);
        let mut devices = Vec::new();
        for item in items {
            let Some(owner) = wire::device_owner(item) else {
                continue;
            };
            match wire::device(item, &owner) {
                Ok(device) => devices.push(EnrolledDevice { owner, device }),
                Err(reason) => tracing::debug!(%reason, "device skipped"),
            }
        }
        Ok(page_of(&answer, devices, items.len(), page, size))
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
            if wire::device_owner(item).is_some_and(|o| !o.eq_ignore_ascii_case(username)) {
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
            return Ok(Some(c.into()));
        }
        let Some(app) = self.find_app_uncached(uem_app_id).await? else {
            return Ok(None);
        };
        self.cache_put("app", uem_app_id, &CachedApp::from(&app))
            .await;
        Ok(Some(app))
    }

    async fn smart_groups_named(&self, prefix: &str) -> Result<Vec<SmartGroupRef>, UemError> {
        // `name` is a contains match; keep only names that start with the prefix.
        let items = self
            .search_all(
                "/api/mdm/smartgroups/search",
                &[("name", prefix.to_owned())],
                1,
                &["SmartGroups"],
                "smart group",
                |_| false,
            )
            .await?;
        let mut groups = Vec::new();
        for item in &items {
            if wire::text(item, &["Name"]).is_some_and(|n| n.starts_with(prefix)) {
                groups.push(wire::smart_group_ref(item)?);
            }
        }
        Ok(groups)
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
        self.create_smart_group_checked(name, body).await
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
        if !answer.body.is_object() {
            return Err(UemError::Decode(format!(
                "smart group {id}: the answer is not an object"
            )));
        }
        let mut group = wire::smart_group_ref(&answer.body).or_else(|_| {
            wire::smart_group_ref(
                &json!({"SmartGroupID": id, "Name": wire::text(&answer.body, &["Name"])}),
            )
        })?;
        group.id = id;
        Ok(SmartGroup {
            group,
            users: wire::members(&answer.body, "UserAdditions")?,
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

    async fn app_assignments(&self, app: &UemApp) -> Result<Vec<Assignment>, UemError> {
        let (_, body) = self.rules(app).await?;
        let excluded: Vec<String> = wire::list(&body, &["excluded_smart_groups"])
            .iter()
            .filter_map(|g| g.as_str().map(str::to_owned))
            .collect();
        let mut out = Vec::new();
        for rule in wire::list(&body, &["assignments"]) {
            let Some(spec) = rule_spec(rule) else {
                continue;
            };
            for group in rule_groups(rule) {
                if !excluded.iter().any(|x| same_uuid(x, &group)) {
                    out.push(Assignment {
                        group_uuid: group,
                        spec,
                    });
                }
            }
        }
        Ok(out)
    }

    async fn assign_app(
        &self,
        app: &UemApp,
        group: &SmartGroupRef,
        spec: AssignmentSpec,
    ) -> Result<(), UemError> {
        self.put_assignment(app, group, spec).await
    }

    async fn unassign_app(&self, app: &UemApp, group: &SmartGroupRef) -> Result<(), UemError> {
        self.remove_assignment(app, group).await
    }

    fn calls_made(&self) -> Option<u64> {
        Some(self.requests_sent())
    }
}
