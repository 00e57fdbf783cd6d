//! What a test or a data file says about a user, a device or an app before the tenant gives
//! them ids.

use super::{AppType, ownership_letter, uem_platform};

/// An enrollment user to seed or add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSeed {
    /// The key devices and tests refer to the person by (an HR id); `None` = the user name.
    pub key: Option<String>,
    pub username: String,
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub active: bool,
}

impl UserSeed {
    pub fn new(username: &str, email: &str) -> Self {
        Self {
            key: None,
            username: username.trim().to_owned(),
            email: email.trim().to_owned(),
            first_name: None,
            last_name: None,
            active: true,
        }
    }

    /// The HR id (or other key) that devices and tests use for this person.
    pub fn key(mut self, key: &str) -> Self {
        let key = key.trim();
        self.key = (!key.is_empty()).then(|| key.to_owned());
        self
    }

    pub fn names(mut self, first: &str, last: &str) -> Self {
        self.first_name = Some(first.to_owned());
        self.last_name = Some(last.to_owned());
        self
    }

    pub fn active(mut self, active: bool) -> Self {
        self.active = active;
        self
    }

    /// The key, or the user name when none was given.
    pub fn effective_key(&self) -> &str {
        self.key.as_deref().unwrap_or(&self.username)
    }
}

/// A device to seed or enroll, before ids are given.
#[derive(Debug, Clone)]
pub struct DeviceSeed {
    pub serial_number: String,
    /// The owner: a user's key (HR id) or UEM user name.
    pub username: String,
    pub platform: String,
    pub model: String,
    pub os_version: String,
    pub ownership: String,
    pub compliant: bool,
}

impl DeviceSeed {
    pub fn new(serial_number: &str, user: &str, platform: &str) -> Self {
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
            username: user.to_owned(),
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
