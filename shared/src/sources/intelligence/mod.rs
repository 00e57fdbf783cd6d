//! Workspace ONE (Omnissa) Intelligence: app usage for license reclamation, read in bulk
//! through the Reports API (never per user): one HISTORICAL report of the licensed apps'
//! foreground events over at most 28 days, run, polled and downloaded as a CSV streamed row by
//! row. Every API call is counted against Loadout's share of the organization's 1,000 calls an
//! hour.

mod budget;
mod client;
mod config;
mod error;
mod report;
mod rows;

pub use budget::CallBudget;
pub use client::{IntelligenceClient, ReportRows};
pub use config::{BASE_URL_SETTING, IntelligenceConfig, TOKEN_URL_SETTING};
pub use error::IntelligenceError;
pub use report::{MAX_RANGE_DAYS, UsageReportSpec};
pub use rows::{FOREGROUND, ForegroundRow, parse_timestamp};
