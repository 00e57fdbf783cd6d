//! Devices as UEM reports them, reduced to what decisions need.

use super::ids::UserId;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Platform {
    #[serde(rename = "iOS")]
    Ios,
    #[serde(rename = "Android")]
    Android,
    #[serde(rename = "Windows")]
    Windows,
    #[serde(rename = "macOS")]
    MacOs,
}

impl Platform {
    pub const ALL: [Platform; 4] = [
        Platform::Ios,
        Platform::Android,
        Platform::Windows,
        Platform::MacOs,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Ios => "iOS",
            Platform::Android => "Android",
            Platform::Windows => "Windows",
            Platform::MacOs => "macOS",
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown platform {0:?} (expected iOS, Android, Windows or macOS)")]
pub struct UnknownPlatform(pub String);

impl FromStr for Platform {
    type Err = UnknownPlatform;

    /// Accepts our names and UEM's (`Apple`, `AppleOsX`, `WinRT`, `Android`), case-insensitively.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "ios" | "apple" | "iphone" | "ipad" | "ipados" => Ok(Platform::Ios),
            "android" => Ok(Platform::Android),
            "windows" | "winrt" | "windows desktop" | "windows10" | "windows 10" => {
                Ok(Platform::Windows)
            }
            "macos" | "appleosx" | "osx" | "mac" => Ok(Platform::MacOs),
            _ => Err(UnknownPlatform(s.to_owned())),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Ownership {
    Corporate,
    Employee,
    Shared,
}

impl Ownership {
    pub fn as_str(self) -> &'static str {
        match self {
            Ownership::Corporate => "Corporate",
            Ownership::Employee => "Employee",
            Ownership::Shared => "Shared",
        }
    }

    /// UEM writes ownership as `C`/`E`/`S` or in words.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "c" | "corporate" | "corporate-dedicated" | "corporatededicated" => {
                Some(Ownership::Corporate)
            }
            "e" | "employee" | "employee-owned" | "employeeowned" | "byod" => {
                Some(Ownership::Employee)
            }
            "s" | "shared" | "corporate-shared" | "corporateshared" => Some(Ownership::Shared),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    pub device_id: String,
    pub user_id: UserId,
    pub platform: Platform,
    pub os_version: String,
    pub model: String,
    pub ownership: Ownership,
    pub compliant: bool,
    /// Free storage in MB when UEM reports it.
    #[serde(default)]
    pub free_storage_mb: Option<i64>,
}

impl Device {
    /// Major OS version (`17.4.1` -> 17; `10.0.22631` -> 10); 0 when unknown.
    pub fn os_major(&self) -> i64 {
        self.os_version
            .split(['.', ' '])
            .next()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }
}
