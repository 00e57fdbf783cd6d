//! The seeded tenant: enrollment users, their devices and the app catalog, read from the example
//! data files (`files.rs`) or built in code (`builder.rs`). Ids and uuids are derived from a seed
//! and the entity's key, so the same input always gives the same tenant whatever the order of rows.

pub(crate) mod builder;
mod files;
mod seeds;

pub use builder::{TenantBuilder, derived_uuid};
pub use seeds::{AppSeed, DeviceSeed, UserSeed};

/// The simulator's own push modes (it does not depend on Loadout's types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PushMode {
    Auto,
    OnDemand,
}

impl PushMode {
    /// v1 `PushMode` spelling.
    pub fn as_v1(self) -> &'static str {
        match self {
            PushMode::Auto => "Auto",
            PushMode::OnDemand => "OnDemand",
        }
    }

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
    /// The key the seed files and tests know this person by (an HR id); the user name when the
    /// seed gave none. UEM itself never shows it.
    pub key: String,
    /// The enrollment user name UEM searches and reports: often not the HR id (a
    /// sAMAccountName, the e-mail's local part, a UPN, in any case).
    pub username: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    /// `Status` in UEM: an inactive user keeps its record but cannot enroll.
    pub active: bool,
    pub organization_group_id: i64,
}

/// `EnrollmentStatus` of a device: an unenrolled device stays in the inventory with this status
/// (pyws1uem's `extensive_search` documents the filter values Enrolled, EnterpriseWipePending,
/// DeviceWipePending, Unenrolled).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnrollmentStatus {
    Enrolled,
    Unenrolled,
}

impl EnrollmentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            EnrollmentStatus::Enrolled => "Enrolled",
            EnrollmentStatus::Unenrolled => "Unenrolled",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct SimDevice {
    pub id: i64,
    pub uuid: String,
    pub udid: String,
    pub serial_number: String,
    /// The enrollment user's id and UEM user name.
    pub user_id: i64,
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
    pub last_enrolled_on: String,
    pub enrollment_status: EnrollmentStatus,
    pub organization_group_id: i64,
    /// Apps on the device that no assignment put there (bundle id, name, version).
    pub unmanaged_apps: Vec<(String, String, String)>,
}

impl SimDevice {
    pub fn enrolled(&self) -> bool {
        self.enrollment_status == EnrollmentStatus::Enrolled
    }

    pub fn friendly_name(&self) -> String {
        format!("{} {} {}", self.username, self.model, self.serial_number)
    }
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
}

pub(crate) fn ownership_letter(s: &str) -> String {
    match s.trim().to_ascii_lowercase().as_str() {
        "e" | "employee" | "employee-owned" | "byod" => "E".into(),
        "s" | "shared" | "corporate-shared" => "S".into(),
        _ => "C".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_platform_names_become_uem_names() {
        assert_eq!(uem_platform("iOS"), "Apple");
        assert_eq!(uem_platform("macOS"), "AppleOsX");
        assert_eq!(uem_platform("Windows"), "WinRT");
        assert_eq!(uem_platform("Android"), "Android");
    }

    #[test]
    fn push_modes_parse_in_both_spellings() {
        assert_eq!(PushMode::parse("ON_DEMAND"), Some(PushMode::OnDemand));
        assert_eq!(PushMode::parse("Auto"), Some(PushMode::Auto));
        assert_eq!(PushMode::parse("sometimes"), None);
    }
}
