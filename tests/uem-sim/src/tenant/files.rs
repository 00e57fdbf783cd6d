//! A tenant from the example data files: `org.csv` (people, by HR `user_id`), `devices.csv`
//! (optional, owners by `user_id`), `catalog.yaml` (optional) and `uem-users.csv` (optional,
//! `user_id,username,email`: the UEM enrollment user name and e-mail of a person when they are
//! not the HR id and HR e-mail, as with users synced from AD or Entra).

use super::{AppSeed, AppType, DeviceSeed, Tenant, TenantError, UserSeed, uem_platform};
use std::collections::HashMap;
use std::path::Path;

/// The optional mapping file from HR ids to UEM user names.
pub const UEM_USERS_FILE: &str = "uem-users.csv";

impl Tenant {
    /// Reads the data files from `dir` (see the module docs).
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Self, TenantError> {
        Self::from_dir_with_seed(dir, 0)
    }

    pub fn from_dir_with_seed(dir: impl AsRef<Path>, seed: u64) -> Result<Self, TenantError> {
        let dir = dir.as_ref();
        let mut builder = Tenant::builder().seed(seed);
        let mut mapped = read_uem_users(&dir.join(UEM_USERS_FILE))?;
        let org = dir.join("org.csv");
        for row in read_csv(&org)? {
            let user_id = field(&row, "user_id", &org)?;
            let email = row.get("email").cloned().unwrap_or_default();
            let user = match mapped.remove(&user_id.to_ascii_lowercase()) {
                Some(mut seed) => {
                    if seed.email.is_empty() {
                        seed.email = email;
                    }
                    seed.key(&user_id)
                }
                None => UserSeed::new(&user_id, &email),
            };
            builder = builder.user_seed(user);
        }
        // People UEM knows that HR does not (service accounts, contractors from elsewhere).
        let mut rest: Vec<UserSeed> = mapped.into_values().collect();
        rest.sort_by(|a, b| a.username.cmp(&b.username));
        for user in rest {
            builder = builder.user_seed(user);
        }
        let devices = dir.join("devices.csv");
        if devices.exists() {
            for row in read_csv(&devices)? {
                builder = builder.device(device_seed(&row, &devices)?);
            }
        }
        let catalog = dir.join("catalog.yaml");
        if catalog.exists() {
            for app in read_catalog(&catalog)? {
                builder = builder.app(app);
            }
        }
        builder.build()
    }
}

/// `uem-users.csv` by lower-cased `user_id`; empty when the file does not exist.
fn read_uem_users(path: &Path) -> Result<HashMap<String, UserSeed>, TenantError> {
    let mut out = HashMap::new();
    if !path.exists() {
        return Ok(out);
    }
    for row in read_csv(path)? {
        let user_id = field(&row, "user_id", path)?;
        let username = field(&row, "username", path)?;
        let email = row.get("email").cloned().unwrap_or_default();
        let mut seed = UserSeed::new(&username, &email).key(&user_id);
        if let (Some(first), Some(last)) = (row.get("first_name"), row.get("last_name")) {
            seed = seed.names(first, last);
        }
        if out.insert(user_id.to_ascii_lowercase(), seed).is_some() {
            return Err(TenantError::File {
                file: path.display().to_string(),
                message: format!("user_id {user_id} is listed twice"),
            });
        }
    }
    Ok(out)
}

fn device_seed(row: &Row, path: &Path) -> Result<DeviceSeed, TenantError> {
    let mut seed = DeviceSeed::new(
        &field(row, "device_id", path)?,
        &field(row, "user_id", path)?,
        &field(row, "platform", path)?,
    );
    if let Some(model) = row.get("model").filter(|m| !m.is_empty()) {
        seed = seed.model(model);
    }
    if let Some(os) = row.get("os_version").filter(|m| !m.is_empty()) {
        seed = seed.os_version(os);
    }
    if let Some(own) = row.get("ownership") {
        seed = seed.ownership(own);
    }
    if let Some(c) = row.get("compliant") {
        seed = seed.compliant(matches!(
            c.trim().to_ascii_lowercase().as_str(),
            "true" | "yes" | "1" | "compliant"
        ));
    }
    Ok(seed)
}

type Row = HashMap<String, String>;

fn read_csv(path: &Path) -> Result<Vec<Row>, TenantError> {
    let err = |message: String| TenantError::File {
        file: path.display().to_string(),
        message,
    };
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|e| err(e.to_string()))?;
    let mut rows = Vec::new();
    for row in reader.deserialize::<Row>() {
        rows.push(row.map_err(|e| err(e.to_string()))?);
    }
    Ok(rows)
}

fn field(row: &Row, name: &str, path: &Path) -> Result<String, TenantError> {
    row.get(name)
        .filter(|v| !v.is_empty())
        .cloned()
        .ok_or_else(|| TenantError::File {
            file: path.display().to_string(),
            message: format!("a row has no {name}"),
        })
}

fn read_catalog(path: &Path) -> Result<Vec<AppSeed>, TenantError> {
    let err = |message: String| TenantError::File {
        file: path.display().to_string(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    let value: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&text).map_err(|e| err(e.to_string()))?;
    let list = match value {
        serde_yaml_ng::Value::Sequence(list) => list,
        serde_yaml_ng::Value::Mapping(map) => match map.get("apps") {
            Some(serde_yaml_ng::Value::Sequence(list)) => list.clone(),
            _ => return Err(err("expected a list of apps".into())),
        },
        _ => return Err(err("expected a list of apps".into())),
    };
    let text_of = |v: &serde_yaml_ng::Value| match v {
        serde_yaml_ng::Value::String(s) => Some(s.clone()),
        serde_yaml_ng::Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    let mut apps = Vec::new();
    for entry in list {
        let get = |k: &str| entry.get(k).and_then(text_of);
        let uem_id = get("uem_app_id").ok_or_else(|| err("an app has no uem_app_id".into()))?;
        let name = get("name")
            .or_else(|| get("id"))
            .ok_or_else(|| err(format!("app {uem_id} has no name")))?;
        let platforms: Vec<String> = match entry.get("platforms") {
            Some(serde_yaml_ng::Value::Sequence(ps)) => ps.iter().filter_map(text_of).collect(),
            Some(other) => text_of(other).into_iter().collect(),
            None => Vec::new(),
        };
        let (id, uuid) = match uem_id.parse::<i64>() {
            Ok(n) => (Some(n), None),
            Err(_) => (None, Some(uem_id.to_ascii_lowercase())),
        };
        apps.push(AppSeed {
            id,
            uuid,
            name,
            platforms: if platforms.is_empty() {
                vec!["Apple".into()]
            } else {
                platforms.iter().map(|p| uem_platform(p)).collect()
            },
            app_type: get("app_type")
                .and_then(|t| AppType::parse(&t))
                .unwrap_or(AppType::Internal),
            bundle_id: get("bundle_id"),
        });
    }
    Ok(apps)
}
