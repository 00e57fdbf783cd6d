//! The seeded tenant: enrollment users, their devices and the app catalog, read from the example
//! data files (DESIGN.md "Data files") or built in code. Ids and uuids are derived from a seed and
//! the entity's key, so the same input always gives the same tenant whatever the order of rows.

use rand::{Rng, SeedableRng};
use std::path::Path;

/// The simulator's own push modes (it does not depend on Loadout's types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PushMode {
    Auto,
    OnDemand,
}

impl PushMode {
    /// v2 `app_delivery_method` spelling.
    pub fn as_v2(self) -> &'static str {
        match self {
            PushMode::Auto => "AUTO",
            PushMode::OnDemand => "ON_DEMAND",
        }
    }

    /// Accepts the v1 (`Auto`, `OnDemand`) and v2 (`AUTO`, `ON_DEMAND`) spellings.
    pub fn parse(s: &str) -> Option<Self> {
        match s
            .trim()
            .to_ascii_lowercase()
            .replace(['_', '-', ' '], "")
            .as_str()
        {
            "auto" => Some(PushMode::Auto),
            "ondemand" => Some(PushMode::OnDemand),
            _ => None,
        }
    }
}

/// UEM's kinds of apps, which are also the `{type}` path segment of `/api/mam/apps/{type}/{id}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppType {
    Internal,
    Public,
    Purchased,
}

impl AppType {
    pub fn as_str(self) -> &'static str {
        match self {
            AppType::Internal => "Internal",
            AppType::Public => "Public",
            AppType::Purchased => "Purchased",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "internal" => Some(AppType::Internal),
            "public" => Some(AppType::Public),
            "purchased" => Some(AppType::Purchased),
            _ => None,
        }
    }
}

/// UEM's platform names for the four platforms Loadout knows; accepts ours (`iOS`, `macOS`,
/// `Windows`) too. Unknown names are kept as given.
pub fn uem_platform(name: &str) -> String {
    match name.trim().to_ascii_lowercase().as_str() {
        "ios" | "apple" | "ipados" => "Apple".into(),
        "android" => "Android".into(),
        "windows" | "winrt" | "windows desktop" => "WinRT".into(),
        "macos" | "appleosx" | "osx" => "AppleOsX".into(),
        _ => name.trim().to_owned(),
    }
}

/// The numeric platform code the v1 apps search reports (10 = macOS is from a real client; the
/// others follow the same DevicePlatform enum as remembered, not read from a source).
pub fn platform_code(uem_name: &str) -> i64 {
    match uem_name {
        "Apple" => 2,
        "Android" => 5,
        "AppleOsX" => 10,
        "WinRT" => 12,
        _ => 0,
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct SimUser {
    pub id: i64,
    pub uuid: String,
    pub username: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SimDevice {
    pub id: i64,
    pub uuid: String,
    pub udid: String,
    pub serial_number: String,
    pub username: String,
    /// UEM's name: `Apple`, `Android`, `WinRT`, `AppleOsX`.
    pub platform: String,
    pub model: String,
    pub os_version: String,
    /// `C`, `E` or `S`.
    pub ownership: String,
    pub compliant: bool,
    /// `YYYY-MM-DDTHH:MM:SS`, no zone, as UEM writes it.
    pub last_seen: String,
    /// Apps on the device that no assignment put there (bundle id, name, version).
    pub unmanaged_apps: Vec<(String, String, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SimApp {
    pub id: i64,
    pub uuid: String,
    pub name: String,
    /// UEM platform names; the first is the app's `Platform`. UEM has one app per platform;
    /// a catalog entry listing several is kept as one app that reaches all of them.
    pub platforms: Vec<String>,
    pub app_type: AppType,
    pub bundle_id: String,
    pub version: String,
}

/// A device to seed, before ids are given.
#[derive(Debug, Clone)]
pub struct DeviceSeed {
    pub serial_number: String,
    pub username: String,
    pub platform: String,
    pub model: String,
    pub os_version: String,
    pub ownership: String,
    pub compliant: bool,
}

impl DeviceSeed {
    pub fn new(serial_number: &str, username: &str, platform: &str) -> Self {
        let platform = uem_platform(platform);
        let (model, os) = match platform.as_str() {
            "Apple" => ("iPhone 15", "17.4.1"),
            "Android" => ("Pixel 8", "14.0.0"),
            "WinRT" => ("Surface Laptop 5", "10.0.22631"),
            "AppleOsX" => ("MacBook Pro", "14.4.1"),
            _ => ("Unknown", "1.0"),
        };
        Self {
            serial_number: serial_number.to_owned(),
            username: username.to_owned(),
            platform,
            model: model.to_owned(),
            os_version: os.to_owned(),
            ownership: "C".to_owned(),
            compliant: true,
        }
    }

    pub fn model(mut self, model: &str) -> Self {
        self.model = model.to_owned();
        self
    }

    pub fn os_version(mut self, os: &str) -> Self {
        self.os_version = os.to_owned();
        self
    }

    /// `C`/`E`/`S` or a word (`corporate`, `employee`, `shared`).
    pub fn ownership(mut self, ownership: &str) -> Self {
        self.ownership = ownership_letter(ownership);
        self
    }

    pub fn compliant(mut self, compliant: bool) -> Self {
        self.compliant = compliant;
        self
    }
}

/// An app to seed.
#[derive(Debug, Clone)]
pub struct AppSeed {
    /// Numeric console id; `None` allocates one.
    pub id: Option<i64>,
    /// A fixed uuid; `None` derives one from the seed.
    pub uuid: Option<String>,
    pub name: String,
    pub platforms: Vec<String>,
    pub app_type: AppType,
    pub bundle_id: Option<String>,
}

impl AppSeed {
    pub fn new(id: i64, name: &str, platform: &str) -> Self {
        Self {
            id: Some(id),
            uuid: None,
            name: name.to_owned(),
            platforms: vec![uem_platform(platform)],
            app_type: AppType::Internal,
            bundle_id: None,
        }
    }

    pub fn app_type(mut self, app_type: AppType) -> Self {
        self.app_type = app_type;
        self
    }

    pub fn platforms(mut self, platforms: &[&str]) -> Self {
        self.platforms = platforms.iter().map(|p| uem_platform(p)).collect();
        self
    }

    pub fn bundle_id(mut self, bundle_id: &str) -> Self {
        self.bundle_id = Some(bundle_id.to_owned());
        self
    }
}

fn ownership_letter(s: &str) -> String {
    match s.trim().to_ascii_lowercase().as_str() {
        "e" | "employee" | "employee-owned" | "byod" => "E".into(),
        "s" | "shared" | "corporate-shared" => "S".into(),
        _ => "C".into(),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TenantError {
    #[error("{file}: {message}")]
    File { file: String, message: String },
    #[error("device {serial} belongs to unknown user {user}")]
    UnknownUser { serial: String, user: String },
    #[error("{0} is listed twice")]
    Duplicate(String),
}

/// A whole tenant as seeded; the simulator copies it into its mutable state at start.
#[derive(Debug, Clone, Default)]
pub struct Tenant {
    pub users: Vec<SimUser>,
    pub devices: Vec<SimDevice>,
    pub apps: Vec<SimApp>,
    pub seed: u64,
}

impl Tenant {
    pub fn builder() -> TenantBuilder {
        TenantBuilder::default()
    }

    /// Reads `org.csv`, `devices.csv` (optional) and `catalog.yaml` (optional) from `dir`.
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Self, TenantError> {
        Self::from_dir_with_seed(dir, 0)
    }

    pub fn from_dir_with_seed(dir: impl AsRef<Path>, seed: u64) -> Result<Self, TenantError> {
        let dir = dir.as_ref();
        let mut builder = Tenant::builder().seed(seed);
        let org = dir.join("org.csv");
        for row in read_csv(&org)? {
            let user = field(&row, "user_id", &org)?;
            let email = row.get("email").cloned().unwrap_or_default();
            builder = builder.user(&user, &email);
        }
        let devices = dir.join("devices.csv");
        if devices.exists() {
            for row in read_csv(&devices)? {
                let mut seed = DeviceSeed::new(
                    &field(&row, "device_id", &devices)?,
                    &field(&row, "user_id", &devices)?,
                    &field(&row, "platform", &devices)?,
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
                builder = builder.device(seed);
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

type Row = std::collections::HashMap<String, String>;

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

/// Builds a tenant in code, for tests.
#[derive(Debug, Clone, Default)]
pub struct TenantBuilder {
    seed: u64,
    users: Vec<(String, String)>,
    devices: Vec<DeviceSeed>,
    apps: Vec<AppSeed>,
    installed: Vec<(String, String, String)>,
}

impl TenantBuilder {
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    pub fn user(mut self, username: &str, email: &str) -> Self {
        self.users.push((username.to_owned(), email.to_owned()));
        self
    }

    pub fn device(mut self, device: DeviceSeed) -> Self {
        self.devices.push(device);
        self
    }

    pub fn app(mut self, app: AppSeed) -> Self {
        self.apps.push(app);
        self
    }

    /// An app found on a device that no assignment put there.
    pub fn unmanaged_app(mut self, serial: &str, bundle_id: &str, name: &str) -> Self {
        self.installed
            .push((serial.to_owned(), bundle_id.to_owned(), name.to_owned()));
        self
    }

    pub fn build(self) -> Result<Tenant, TenantError> {
        let seed = self.seed;
        let mut tenant = Tenant {
            seed,
            ..Tenant::default()
        };
        let mut users = self.users;
        users.sort();
        for (i, (username, email)) in users.iter().enumerate() {
            if i > 0 && users[i - 1].0.eq_ignore_ascii_case(username) {
                return Err(TenantError::Duplicate(format!("user {username}")));
            }
            let (first, last) = split_name(username, email);
            tenant.users.push(SimUser {
                id: 1000 + i as i64,
                uuid: derived_uuid(seed, "user", username),
                username: username.clone(),
                email: email.clone(),
                first_name: first,
                last_name: last,
            });
        }
        let mut devices = self.devices;
        devices.sort_by(|a, b| a.serial_number.cmp(&b.serial_number));
        for (i, d) in devices.into_iter().enumerate() {
            if !tenant
                .users
                .iter()
                .any(|u| u.username.eq_ignore_ascii_case(&d.username))
            {
                return Err(TenantError::UnknownUser {
                    serial: d.serial_number,
                    user: d.username,
                });
            }
            if tenant
                .devices
                .iter()
                .any(|x: &SimDevice| x.serial_number == d.serial_number)
            {
                return Err(TenantError::Duplicate(format!(
                    "device {}",
                    d.serial_number
                )));
            }
            let mut rng = keyed_rng(seed, "lastseen", &d.serial_number);
            let minutes: u32 = rng.next_u32() % (7 * 24 * 60);
            let last_seen = chrono::NaiveDate::from_ymd_opt(2026, 11, 1)
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| t - chrono::Duration::minutes(i64::from(minutes)))
                .map(|t| t.format("%Y-%m-%dT%H:%M:%S").to_string())
                .unwrap_or_default();
            let unmanaged = self
                .installed
                .iter()
                .filter(|(s, _, _)| *s == d.serial_number)
                .map(|(_, b, n)| (b.clone(), n.clone(), "1.0".to_owned()))
                .collect();
            tenant.devices.push(SimDevice {
                id: 20000 + i as i64,
                uuid: derived_uuid(seed, "device", &d.serial_number),
                udid: derived_uuid(seed, "udid", &d.serial_number)
                    .replace('-', "")
                    .to_ascii_uppercase(),
                serial_number: d.serial_number,
                username: d.username,
                platform: d.platform,
                model: d.model,
                os_version: d.os_version,
                ownership: d.ownership,
                compliant: d.compliant,
                last_seen,
                unmanaged_apps: unmanaged,
            });
        }
        let mut next_id = 5000 + self.apps.iter().filter_map(|a| a.id).max().unwrap_or(0);
        for app in self.apps {
            let id = match app.id {
                Some(id) => id,
                None => {
                    next_id += 1;
                    next_id
                }
            };
            if tenant.apps.iter().any(|a: &SimApp| a.id == id) {
                return Err(TenantError::Duplicate(format!("app {id}")));
            }
            let slug: String = app
                .name
                .to_ascii_lowercase()
                .chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .collect();
            tenant.apps.push(SimApp {
                id,
                uuid: app
                    .uuid
                    .unwrap_or_else(|| derived_uuid(seed, "app", &id.to_string())),
                bundle_id: app
                    .bundle_id
                    .unwrap_or_else(|| format!("com.example.{slug}")),
                name: app.name,
                platforms: app.platforms,
                app_type: app.app_type,
                version: "1.0.0".into(),
            });
        }
        tenant.apps.sort_by_key(|a| a.id);
        Ok(tenant)
    }
}

fn split_name(username: &str, email: &str) -> (String, String) {
    let local = email
        .split('@')
        .next()
        .filter(|s| !s.is_empty())
        .unwrap_or(username);
    let mut parts = local.split(['.', '_', '-']).filter(|p| !p.is_empty());
    let cap = |s: &str| {
        let mut c = s.chars();
        c.next()
            .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
            .unwrap_or_default()
    };
    let first = parts.next().map(cap).unwrap_or_default();
    let last = parts.next().map(cap).unwrap_or_default();
    (first, last)
}

/// FNV-1a, to key per-entity random streams off the seed.
fn fnv(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.bytes().chain(std::iter::once(0xff)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

fn keyed_rng(seed: u64, kind: &str, key: &str) -> rand::rngs::StdRng {
    rand::rngs::StdRng::seed_from_u64(seed ^ fnv(&[kind, key]))
}

/// A version-4-shaped uuid that depends only on the seed, the kind of entity and its key.
pub fn derived_uuid(seed: u64, kind: &str, key: &str) -> String {
    let mut bytes = [0u8; 16];
    keyed_rng(seed, kind, key).fill_bytes(&mut bytes);
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_ids_whatever_the_order() {
        let a = Tenant::builder()
            .seed(3)
            .user("bob", "bob@example.com")
            .user("alice", "alice@example.com")
            .build()
            .unwrap();
        let b = Tenant::builder()
            .seed(3)
            .user("alice", "alice@example.com")
            .user("bob", "bob@example.com")
            .build()
            .unwrap();
        assert_eq!(a.users, b.users);
        let c = Tenant::builder()
            .seed(4)
            .user("alice", "alice@example.com")
            .build()
            .unwrap();
        assert_ne!(a.users[0].uuid, c.users[0].uuid);
    }

    #[test]
    fn device_of_unknown_user_is_refused() {
        let err = Tenant::builder()
            .device(DeviceSeed::new("S1", "ghost", "iOS"))
            .build()
            .unwrap_err();
        assert!(matches!(err, TenantError::UnknownUser { .. }));
    }

    #[test]
    fn our_platform_names_become_uem_names() {
        assert_eq!(uem_platform("iOS"), "Apple");
        assert_eq!(uem_platform("macOS"), "AppleOsX");
        assert_eq!(uem_platform("Windows"), "WinRT");
        assert_eq!(uem_platform("Android"), "Android");
    }
}
