//! Users and groups in Okta's JSON. Profile attributes follow Okta's rules (an unset attribute is
//! `null`, `countryCode` is ISO alpha-2); a deactivated person is `DEPROVISIONED` but still a
//! user, as Okta keeps deactivated users until they are deleted. Timestamps are fixed because the
//! directory has no history and stable output keeps tests exact.

use crate::country::alpha2;
use crate::directory::{Directory, Entry};
use crate::ids::{okta_group_id, okta_shaped};
use serde_json::{Value, json};

/// Okta's built-in group every user belongs to.
pub(crate) const EVERYONE: &str = "Everyone";

const CREATED: &str = "2021-03-01T09:00:00.000Z";
const ACTIVATED: &str = "2021-03-01T09:05:00.000Z";
const PASSWORD_CHANGED: &str = "2021-03-01T09:10:00.000Z";
const LAST_LOGIN: &str = "2024-05-06T08:30:00.000Z";
const LAST_UPDATED: &str = "2024-05-06T08:30:00.000Z";
const DEPROVISIONED_AT: &str = "2024-06-03T17:00:00.000Z";

fn text(s: &str) -> Value {
    if s.is_empty() {
        Value::Null
    } else {
        Value::String(s.to_owned())
    }
}

/// The id of the org's default user type, which every user here has.
pub(crate) fn user_type_id() -> String {
    okta_shaped("oty", "okta-user-type", "default")
}

fn status(e: &Entry) -> &'static str {
    if e.person.active {
        "ACTIVE"
    } else {
        "DEPROVISIONED"
    }
}

/// A user object as `GET /api/v1/users/{id}` returns it. `manager`/`managerId` are profile
/// attributes copied from HR, so they name the manager even if the manager left Okta.
pub(crate) fn user(dir: &Directory, e: &Entry, org: &str) -> Value {
    let p = &e.person;
    let manager = p.manager.as_deref().and_then(|m| dir.entry(m));
    let active = p.active;
    json!({
        "id": e.okta_id,
        "status": status(e),
        "created": CREATED,
        "activated": ACTIVATED,
        "statusChanged": if active { ACTIVATED } else { DEPROVISIONED_AT },
        "lastLogin": LAST_LOGIN,
        "lastUpdated": if active { LAST_UPDATED } else { DEPROVISIONED_AT },
        "passwordChanged": PASSWORD_CHANGED,
        "type": {"id": user_type_id()},
        "profile": {
            "firstName": text(&p.first_name),
            "lastName": text(&p.last_name),
            "mobilePhone": null,
            "secondEmail": null,
            "login": text(&p.email),
            "email": text(&p.email),
            "department": text(&p.department),
            "title": text(&p.job_title),
            "city": text(&p.location),
            "countryCode": alpha2(&p.country),
            "employeeType": text(&p.employment_type),
            "employeeNumber": e.bamboo_id.to_string(),
            "manager": manager.map(|m| m.person.display_name()).filter(|n| !n.is_empty()),
            "managerId": manager.map(|m| m.okta_id.clone()),
            "division": null,
            "organization": null,
        },
        "credentials": {"provider": {"type": "OKTA", "name": "OKTA"}},
        "_links": {"self": {"href": format!("{org}/api/v1/users/{}", e.okta_id)}},
    })
}

/// A group object: `Everyone` is Okta's `BUILT_IN` group, every other name an `OKTA_GROUP`.
pub(crate) fn group(name: &str, org: &str) -> Value {
    let id = okta_group_id(name);
    let (kind, description) = if name == EVERYONE {
        ("BUILT_IN", json!("All users in your organization"))
    } else {
        ("OKTA_GROUP", Value::Null)
    };
    json!({
        "id": id,
        "created": CREATED,
        "lastUpdated": CREATED,
        "lastMembershipUpdated": LAST_UPDATED,
        "objectClass": ["okta:user_group"],
        "type": kind,
        "profile": {"name": name, "description": description},
        "_links": {
            "users": {"href": format!("{org}/api/v1/groups/{id}/users")},
            "apps": {"href": format!("{org}/api/v1/groups/{id}/apps")},
        },
    })
}

/// Every group of the org: `Everyone` and each name anyone has been in.
pub(crate) fn all_groups(dir: &Directory) -> Vec<&str> {
    let mut names = vec![EVERYONE];
    names.extend(
        dir.groups()
            .iter()
            .map(String::as_str)
            .filter(|g| *g != EVERYONE),
    );
    names
}

/// The user's groups: `Everyone` and their own.
pub(crate) fn groups_of<'a>(dir: &Directory, e: &'a Entry) -> Vec<&'a str> {
    let mut names = vec![EVERYONE];
    names.extend(dir.groups_of(e).into_iter().filter(|g| *g != EVERYONE));
    names
}

/// The group with this id, by name.
pub(crate) fn group_by_id<'a>(dir: &'a Directory, id: &str) -> Option<&'a str> {
    all_groups(dir).into_iter().find(|g| okta_group_id(g) == id)
}

/// The group's members: every Okta user for `Everyone`.
pub(crate) fn members<'a>(dir: &'a Directory, name: &'a str) -> Vec<&'a Entry> {
    if name == EVERYONE {
        dir.okta_users().collect()
    } else {
        dir.okta_members_of(name).collect()
    }
}
