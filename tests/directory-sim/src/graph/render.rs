//! Users and groups in Graph's JSON: every supported property, with Graph's rules (empty
//! strings are `null`, collections are arrays, never `null`), and the property sets Graph
//! returns when no `$select` is given.

use crate::country::alpha2;
use crate::directory::Entry;
use crate::ids::group_guid;
use serde_json::{Map, Value, json};

pub(crate) const USER_TYPE: &str = "microsoft.graph.user";
pub(crate) const GROUP_TYPE: &str = "microsoft.graph.group";

/// Every user property the simulator knows, in Graph's spelling.
pub(crate) const USER_PROPERTIES: &[&str] = &[
    "id",
    "displayName",
    "givenName",
    "surname",
    "mail",
    "userPrincipalName",
    "jobTitle",
    "department",
    "officeLocation",
    "country",
    "usageLocation",
    "city",
    "employeeType",
    "employeeId",
    "companyName",
    "accountEnabled",
    "onPremisesSamAccountName",
    "onPremisesSyncEnabled",
    "userType",
    "businessPhones",
    "mobilePhone",
    "preferredLanguage",
    "otherMails",
    "proxyAddresses",
    "createdDateTime",
];

/// What `GET /users/{id}` returns without `$select` (Graph's documented default set).
pub(crate) const USER_DEFAULT: &[&str] = &[
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
];

pub(crate) const GROUP_PROPERTIES: &[&str] = &[
    "id",
    "displayName",
    "description",
    "classification",
    "createdDateTime",
    "deletedDateTime",
    "groupTypes",
    "mail",
    "mailEnabled",
    "mailNickname",
    "securityEnabled",
    "securityIdentifier",
    "visibility",
    "onPremisesSyncEnabled",
    "proxyAddresses",
];

/// A group without `$select` comes back with all of these (Graph's default for groups is
/// nearly every property).
pub(crate) const GROUP_DEFAULT: &[&str] = GROUP_PROPERTIES;

/// A fixed creation time: the directory has no history, and stable output keeps tests exact.
const CREATED: &str = "2021-03-01T09:00:00Z";

fn text(s: &str) -> Value {
    if s.is_empty() {
        Value::Null
    } else {
        Value::String(s.to_owned())
    }
}

/// All properties of a user.
pub(crate) fn user(e: &Entry) -> Map<String, Value> {
    let p = &e.person;
    let display = p.display_name();
    let display = if display.is_empty() {
        p.user_name.clone()
    } else {
        display
    };
    let mut m = Map::new();
    m.insert("id".into(), json!(e.graph_id));
    m.insert("displayName".into(), text(&display));
    m.insert("givenName".into(), text(&p.first_name));
    m.insert("surname".into(), text(&p.last_name));
    m.insert("mail".into(), text(&p.email));
    m.insert("userPrincipalName".into(), text(&p.email));
    m.insert("jobTitle".into(), text(&p.job_title));
    m.insert("department".into(), text(&p.department));
    m.insert("officeLocation".into(), text(&p.location));
    m.insert("country".into(), text(&p.country));
    m.insert(
        "usageLocation".into(),
        alpha2(&p.country).map_or(Value::Null, Value::String),
    );
    m.insert("city".into(), Value::Null);
    m.insert("employeeType".into(), text(&p.employment_type));
    // Entra's employeeId is commonly provisioned from the HR system's id.
    m.insert("employeeId".into(), json!(e.bamboo_id.to_string()));
    m.insert("companyName".into(), Value::Null);
    m.insert("accountEnabled".into(), json!(p.active));
    m.insert("onPremisesSamAccountName".into(), text(&p.user_name));
    m.insert("onPremisesSyncEnabled".into(), json!(true));
    m.insert("userType".into(), json!("Member"));
    m.insert("businessPhones".into(), json!([]));
    m.insert("mobilePhone".into(), Value::Null);
    m.insert("preferredLanguage".into(), Value::Null);
    m.insert("otherMails".into(), json!([]));
    let proxies: Vec<String> = if p.email.is_empty() {
        Vec::new()
    } else {
        vec![format!("SMTP:{}", p.email)]
    };
    m.insert("proxyAddresses".into(), json!(proxies));
    m.insert("createdDateTime".into(), json!(CREATED));
    m
}

/// All properties of a security group.
pub(crate) fn group(name: &str) -> Map<String, Value> {
    let nickname: String = name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase();
    let mut m = Map::new();
    m.insert("id".into(), json!(group_guid(name)));
    m.insert("displayName".into(), json!(name));
    m.insert("description".into(), Value::Null);
    m.insert("classification".into(), Value::Null);
    m.insert("createdDateTime".into(), json!(CREATED));
    m.insert("deletedDateTime".into(), Value::Null);
    m.insert("groupTypes".into(), json!([]));
    m.insert("mail".into(), Value::Null);
    m.insert("mailEnabled".into(), json!(false));
    m.insert(
        "mailNickname".into(),
        text(if nickname.is_empty() {
            "group"
        } else {
            &nickname
        }),
    );
    m.insert("securityEnabled".into(), json!(true));
    m.insert("securityIdentifier".into(), Value::Null);
    m.insert("visibility".into(), Value::Null);
    m.insert("onPremisesSyncEnabled".into(), Value::Null);
    m.insert("proxyAddresses".into(), json!([]));
    m
}

/// Only `props` of `full`, optionally tagged with `@odata.type` (as Graph does for items whose
/// type is narrower than the collection's).
pub(crate) fn project(
    full: &Map<String, Value>,
    props: &[&str],
    odata_type: Option<&str>,
) -> Value {
    let mut m = Map::new();
    if let Some(t) = odata_type {
        m.insert("@odata.type".into(), json!(format!("#{t}")));
    }
    for p in props {
        m.insert(
            (*p).to_owned(),
            full.get(*p).cloned().unwrap_or(Value::Null),
        );
    }
    Value::Object(m)
}

/// The users of a directory, all properties, for list endpoints.
pub(crate) fn users<'a>(entries: impl Iterator<Item = &'a Entry>) -> Vec<Map<String, Value>> {
    entries.map(user).collect()
}

/// Groups by name, all properties.
pub(crate) fn groups<'a>(names: impl Iterator<Item = &'a str>) -> Vec<Map<String, Value>> {
    names.map(group).collect()
}
