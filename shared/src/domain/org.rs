//! The data files of DESIGN.md (org.csv, devices.csv, usage.csv): loaded for local mode, the demo,
//! `simulate` and the relevance model.

use super::context::AppUsage;
use super::device::{Device, Ownership, Platform};
use super::employee::Employee;
use super::ids::{AppId, UserId};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, thiserror::Error)]
pub enum OrgDataError {
    #[error("{file}: {source}")]
    Csv {
        file: &'static str,
        #[source]
        source: csv::Error,
    },
    #[error("{file} line {line}: {message}")]
    Invalid {
        file: &'static str,
        line: u64,
        message: String,
    },
}

#[derive(Debug, Deserialize)]
struct OrgRow {
    user_id: String,
    email: String,
    department: String,
    title: String,
    location: String,
    region: String,
    employment_type: String,
    #[serde(default)]
    manager_id: String,
    #[serde(default)]
    groups: String,
    /// Optional: the directory account name and UPN, when the export carries them.
    #[serde(default)]
    username: String,
    #[serde(default)]
    upn: String,
}

#[derive(Debug, Deserialize)]
struct DeviceRow {
    device_id: String,
    user_id: String,
    platform: String,
    os_version: String,
    model: String,
    ownership: String,
    compliant: String,
}

#[derive(Debug, Deserialize)]
struct UsageRow {
    user_id: String,
    app_id: String,
    launches_30d: u32,
    #[serde(default)]
    last_used_at: String,
}

fn line_of(record: &csv::StringRecord) -> u64 {
    record.position().map(|p| p.line()).unwrap_or(0)
}

/// Parses `org.csv`. Groups are separated by `;`.
pub fn parse_org(text: &str) -> Result<Vec<Employee>, OrgDataError> {
    let file = "org.csv";
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|source| OrgDataError::Csv { file, source })?
        .clone();
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|source| OrgDataError::Csv { file, source })?;
        let row: OrgRow = record
            .deserialize(Some(&headers))
            .map_err(|source| OrgDataError::Csv { file, source })?;
        if row.user_id.trim().is_empty() {
            return Err(OrgDataError::Invalid {
                file,
                line: line_of(&record),
                message: "user_id is empty".into(),
            });
        }
        out.push(Employee {
            id: UserId::new(row.user_id.trim()),
            email: row.email.trim().to_owned(),
            department: row.department.trim().to_owned(),
            title: row.title.trim().to_owned(),
            location: row.location.trim().to_owned(),
            region: row.region.trim().to_owned(),
            employment_type: row.employment_type.trim().to_owned(),
            manager_id: Some(row.manager_id.trim())
                .filter(|m| !m.is_empty())
                .map(UserId::new),
            groups: row
                .groups
                .split(';')
                .map(str::trim)
                .filter(|g| !g.is_empty())
                .map(str::to_owned)
                .collect(),
            account_name: Some(row.username.trim())
                .filter(|u| !u.is_empty())
                .map(str::to_owned),
            upn: Some(row.upn.trim())
                .filter(|u| !u.is_empty())
                .map(str::to_owned),
        });
    }
    Ok(out)
}

/// Parses `devices.csv`.
pub fn parse_devices(text: &str) -> Result<Vec<Device>, OrgDataError> {
    let file = "devices.csv";
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|source| OrgDataError::Csv { file, source })?
        .clone();
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|source| OrgDataError::Csv { file, source })?;
        let line = line_of(&record);
        let row: DeviceRow = record
            .deserialize(Some(&headers))
            .map_err(|source| OrgDataError::Csv { file, source })?;
        let platform: Platform = row.platform.parse().map_err(|e| OrgDataError::Invalid {
            file,
            line,
            message: format!("{e}"),
        })?;
        let ownership = Ownership::parse(&row.ownership).ok_or_else(|| OrgDataError::Invalid {
            file,
            line,
            message: format!("unknown ownership {:?}", row.ownership),
        })?;
        let compliant = match row.compliant.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" | "compliant" => true,
            "false" | "no" | "0" | "noncompliant" | "non-compliant" => false,
            other => {
                return Err(OrgDataError::Invalid {
                    file,
                    line,
                    message: format!("compliant must be true or false, not {other:?}"),
                });
            }
        };
        out.push(Device {
            device_id: row.device_id.trim().to_owned(),
            user_id: UserId::new(row.user_id.trim()),
            platform,
            os_version: row.os_version.trim().to_owned(),
            model: row.model.trim().to_owned(),
            ownership,
            compliant,
            free_storage_mb: None,
        });
    }
    Ok(out)
}

/// Parses `usage.csv` into per-user usage lists.
pub fn parse_usage(text: &str) -> Result<BTreeMap<UserId, Vec<AppUsage>>, OrgDataError> {
    let file = "usage.csv";
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|source| OrgDataError::Csv { file, source })?
        .clone();
    let mut out: BTreeMap<UserId, Vec<AppUsage>> = BTreeMap::new();
    for record in reader.records() {
        let record = record.map_err(|source| OrgDataError::Csv { file, source })?;
        let line = line_of(&record);
        let row: UsageRow = record
            .deserialize(Some(&headers))
            .map_err(|source| OrgDataError::Csv { file, source })?;
        let last_used_at = match row.last_used_at.trim() {
            "" => None,
            s => Some(
                DateTime::parse_from_rfc3339(s)
                    .map_err(|e| OrgDataError::Invalid {
                        file,
                        line,
                        message: format!("last_used_at {s:?} is not RFC 3339: {e}"),
                    })?
                    .with_timezone(&Utc),
            ),
        };
        out.entry(UserId::new(row.user_id.trim()))
            .or_default()
            .push(AppUsage {
                app_id: AppId::new(row.app_id.trim()),
                launches_30d: row.launches_30d,
                last_used_at,
            });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn org_rows_split_groups_and_blank_manager() {
        let csv = "user_id,email,department,title,location,region,employment_type,manager_id,groups\n\
                   amy,amy@example.com,Sales,Account Executive,Austin,NA,Full-time,,sales;austin-office\n";
        let org = parse_org(csv).expect("parses");
        assert_eq!(org[0].groups, vec!["sales", "austin-office"]);
        assert_eq!(org[0].manager_id, None);
    }

    #[test]
    fn device_rows_reject_unknown_platforms_with_the_line() {
        let csv = "device_id,user_id,platform,os_version,model,ownership,compliant\n\
                   d1,amy,Symbian,1,N95,C,true\n";
        let err = parse_devices(csv).expect_err("rejects");
        assert!(err.to_string().contains("line 2"), "{err}");
    }
}
