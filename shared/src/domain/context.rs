//! What enrichment learns about a user before a decision: who they are, their devices, what they use.

use super::action::UemTarget;
use super::device::Device;
use super::employee::Employee;
use super::ids::AppId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppUsage {
    pub app_id: AppId,
    pub launches_30d: u32,
    pub last_used_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserContext {
    pub employee: Employee,
    pub devices: Vec<Device>,
    /// Apps UEM reports as installed on any of the user's devices (catalog ids where known).
    #[serde(default)]
    pub installed: Vec<AppId>,
    #[serde(default)]
    pub usage: Vec<AppUsage>,
    pub fetched_at: DateTime<Utc>,
    /// The person's UEM enrollment user; `None` while they are parked (UEM does not know them).
    #[serde(default)]
    pub uem_user: Option<UemTarget>,
    /// Why the person is parked, when they are.
    #[serde(default)]
    pub parked: Option<String>,
}
