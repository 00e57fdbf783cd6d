//! What Cedar is told about a decision: the user (with groups as parents), the app (with bundles
//! as parents) and, in the request context, the device and the time. Built once and reused: a
//! user's entities for all of their apps, the catalog's for all users.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::str::FromStr;
use std::sync::LazyLock;

use cedar_policy::{Context, Entity, EntityId, EntityTypeName, EntityUid, RestrictedExpression};
use chrono::{DateTime, Datelike, Timelike, Utc};

use crate::domain::{AppId, Catalog, CatalogApp, Device, Employee, Ownership, Platform};

use super::error::PolicyError;

struct TypeNames {
    user: EntityTypeName,
    group: EntityTypeName,
    app: EntityTypeName,
    bundle: EntityTypeName,
    action: EntityTypeName,
}

static NAMES: LazyLock<TypeNames> = LazyLock::new(|| {
    let name = |n: &str| EntityTypeName::from_str(n).expect("a valid Cedar type name");
    TypeNames {
        user: name("Loadout::User"),
        group: name("Loadout::Group"),
        app: name("Loadout::App"),
        bundle: name("Loadout::Bundle"),
        action: name("Loadout::Action"),
    }
});

fn uid(type_name: &EntityTypeName, id: &str) -> EntityUid {
    EntityUid::from_type_name_and_id(type_name.clone(), EntityId::new(id))
}

pub(crate) fn assign_action() -> EntityUid {
    uid(&NAMES.action, "assign")
}

pub(crate) fn app_uid(app: &AppId) -> EntityUid {
    uid(&NAMES.app, app.as_str())
}

fn string(value: &str) -> RestrictedExpression {
    RestrictedExpression::new_string(value.to_owned())
}

fn request_error(e: impl std::fmt::Display) -> PolicyError {
    PolicyError::Request(e.to_string())
}

/// The principal of every request about one user, built once per user.
#[derive(Debug, Clone)]
pub struct UserFacts {
    pub(crate) uid: EntityUid,
    /// The user and one entity per group.
    pub(crate) entities: Vec<Entity>,
}

impl UserFacts {
    /// `is_manager`: someone in the org has this user as their manager.
    pub fn new(employee: &Employee, is_manager: bool) -> Result<Self, PolicyError> {
        let uid = uid(&NAMES.user, employee.id.as_str());
        let groups: BTreeSet<&str> = employee.groups.iter().map(String::as_str).collect();
        let parents: HashSet<EntityUid> = groups.iter().map(|g| uid_group(g)).collect();
        let attrs = HashMap::from([
            ("email".to_owned(), string(&employee.email)),
            ("department".to_owned(), string(&employee.department)),
            ("title".to_owned(), string(&employee.title)),
            ("location".to_owned(), string(&employee.location)),
            ("region".to_owned(), string(&employee.region)),
            (
                "employment_type".to_owned(),
                string(&employee.employment_type),
            ),
            (
                "is_manager".to_owned(),
                RestrictedExpression::new_bool(is_manager),
            ),
        ]);
        let user = Entity::new(uid.clone(), attrs, parents).map_err(request_error)?;
        let mut entities = vec![user];
        entities.extend(
            groups
                .iter()
                .map(|g| Entity::new_no_attrs(uid_group(g), HashSet::new())),
        );
        Ok(Self { uid, entities })
    }
}

fn uid_group(group: &str) -> EntityUid {
    uid(&NAMES.group, group)
}

/// The resource side: one entity per catalog app and per bundle, built once per catalog.
#[derive(Debug, Clone)]
pub struct CatalogFacts {
    pub(crate) entities: Vec<Entity>,
    /// Apps in catalog (id) order, with the platforms they can be installed on.
    pub(crate) apps: Vec<(AppId, EntityUid, Vec<Platform>)>,
    /// Each app's bundles, in the same order: which policies' resource scopes admit it.
    pub(crate) bundles: Vec<Vec<EntityUid>>,
}

impl CatalogFacts {
    pub fn new(catalog: &Catalog) -> Result<Self, PolicyError> {
        Self::from_apps(catalog.apps())
    }

    pub(crate) fn from_apps<'a>(
        apps: impl IntoIterator<Item = &'a CatalogApp>,
    ) -> Result<Self, PolicyError> {
        let mut entities = Vec::new();
        let mut bundles = BTreeSet::new();
        let mut listed = Vec::new();
        let mut parents = Vec::new();
        for app in apps {
            parents.push(app.bundles.iter().map(|b| uid(&NAMES.bundle, b)).collect());
            entities.push(app_entity(app)?);
            bundles.extend(app.bundles.iter().map(String::as_str));
            listed.push((app.id.clone(), app_uid(&app.id), app.platforms.clone()));
        }
        entities.extend(
            bundles
                .into_iter()
                .map(|b| Entity::new_no_attrs(uid(&NAMES.bundle, b), HashSet::new())),
        );
        Ok(Self {
            entities,
            apps: listed,
            bundles: parents,
        })
    }
}

fn app_entity(app: &CatalogApp) -> Result<Entity, PolicyError> {
    let parents: HashSet<EntityUid> = app.bundles.iter().map(|b| uid(&NAMES.bundle, b)).collect();
    let platforms: BTreeSet<&str> = app.platforms.iter().map(|p| p.as_str()).collect();
    let attrs = HashMap::from([
        ("name".to_owned(), string(&app.name)),
        ("risk".to_owned(), string(app.risk.as_str())),
        (
            "licensed".to_owned(),
            RestrictedExpression::new_bool(app.licensed),
        ),
        (
            "cost_cents".to_owned(),
            RestrictedExpression::new_long((app.cost_per_seat * 100.0).round() as i64),
        ),
        (
            "platforms".to_owned(),
            RestrictedExpression::new_set(platforms.into_iter().map(string)),
        ),
    ]);
    Entity::new(app_uid(&app.id), attrs, parents).map_err(request_error)
}

/// The device a request is about: an enrolled one, or the prospective device of a user who has
/// not enrolled yet (assignments are user-based and follow later enrollments).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceFacts {
    /// UEM's device id; `None` for a prospective device.
    pub device_id: Option<String>,
    pub platform: Platform,
    pub os_version: String,
    pub os_major: i64,
    pub model: String,
    pub ownership: Ownership,
    pub compliant: bool,
    pub free_storage_mb: i64,
    pub enrolled: bool,
}

impl DeviceFacts {
    pub fn enrolled(device: &Device) -> Self {
        Self {
            device_id: Some(device.device_id.clone()),
            platform: device.platform,
            os_version: device.os_version.clone(),
            os_major: device.os_major(),
            model: device.model.clone(),
            ownership: device.ownership,
            compliant: device.compliant,
            free_storage_mb: device.free_storage_mb.unwrap_or(0),
            enrolled: true,
        }
    }

    /// A corporate device of `platform` that the user will enroll: what a new hire gets.
    pub fn prospective(platform: Platform) -> Self {
        Self {
            device_id: None,
            platform,
            os_version: String::new(),
            os_major: 0,
            model: String::new(),
            ownership: Ownership::Corporate,
            compliant: true,
            free_storage_mb: 0,
            enrolled: false,
        }
    }

    /// The request context: `{device, hour, weekday}` with hour and ISO weekday (1 = Monday) in UTC.
    pub(crate) fn context(&self, at: DateTime<Utc>) -> Result<Context, PolicyError> {
        let device = RestrictedExpression::new_record([
            ("platform".to_owned(), string(self.platform.as_str())),
            ("os_version".to_owned(), string(&self.os_version)),
            (
                "os_major".to_owned(),
                RestrictedExpression::new_long(self.os_major),
            ),
            ("model".to_owned(), string(&self.model)),
            ("ownership".to_owned(), string(self.ownership.as_str())),
            (
                "compliant".to_owned(),
                RestrictedExpression::new_bool(self.compliant),
            ),
            (
                "free_storage_mb".to_owned(),
                RestrictedExpression::new_long(self.free_storage_mb),
            ),
            (
                "enrolled".to_owned(),
                RestrictedExpression::new_bool(self.enrolled),
            ),
        ])
        .map_err(request_error)?;
        Context::from_pairs([
            ("device".to_owned(), device),
            (
                "hour".to_owned(),
                RestrictedExpression::new_long(i64::from(at.hour())),
            ),
            (
                "weekday".to_owned(),
                RestrictedExpression::new_long(i64::from(at.weekday().number_from_monday())),
            ),
        ])
        .map_err(request_error)
    }
}
