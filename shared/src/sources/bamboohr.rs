//! BambooHR: the employee a webhook named, read through `GET /employees/{id}` with the fields
//! Loadout maps. The API key is the Basic user name; the password is ignored by BambooHR.

use super::fetch::{Fetcher, Reply};
use super::{BambooHrConfig, DirectorySource, SourceError, SourceUser};
use crate::domain::EventSource;
use async_trait::async_trait;
use reqwest::header;
use serde::Deserialize;

const NAME: &str = "bamboohr";
/// BambooHR field names (API aliases) Loadout maps; `supervisorEmail` names the manager.
const FIELDS: &str =
    "workEmail,department,jobTitle,location,status,employmentHistoryStatus,supervisorEmail";

pub struct BambooHrReader {
    config: BambooHrConfig,
    fetcher: Fetcher,
}

impl std::fmt::Debug for BambooHrReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BambooHrReader")
            .field("base_url", &self.config.base_url)
            .finish_non_exhaustive()
    }
}

/// BambooHR answers every requested field as a string or `null`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Employee {
    work_email: Option<String>,
    department: Option<String>,
    job_title: Option<String>,
    location: Option<String>,
    status: Option<String>,
    employment_history_status: Option<String>,
    supervisor_email: Option<String>,
}

impl BambooHrReader {
    pub fn new(config: BambooHrConfig) -> Result<Self, SourceError> {
        Ok(Self {
            fetcher: Fetcher::new(NAME, config.timeout)?,
            config,
        })
    }
}

#[async_trait]
impl DirectorySource for BambooHrReader {
    fn source(&self) -> EventSource {
        EventSource::Bamboohr
    }

    async fn user(&self, external_id: &str) -> Result<Option<SourceUser>, SourceError> {
        // Employee ids are numbers; anything else would only earn a 400 (or reach another path).
        if external_id.is_empty()
            || external_id.len() > 20
            || !external_id.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(SourceError::Rejected {
                source_name: NAME,
                status: 400,
                detail: "a BambooHR employee id is a number".into(),
            });
        }
        let url = format!(
            "{}/employees/{external_id}?fields={FIELDS}",
            self.config.base_url
        );
        let key = self.config.api_key.expose();
        let reply = self
            .fetcher
            .get(&url, |r| {
                r.basic_auth(key, Some("x"))
                    .header(header::ACCEPT, "application/json")
            })
            .await?;
        let Some(employee) = reply.json::<Employee>(NAME, refusal_reason)? else {
            return Ok(None);
        };
        let present = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        Ok(Some(SourceUser {
            external_id: external_id.to_owned(),
            account_name: None,
            upn: None,
            email: present(employee.work_email),
            department: present(employee.department),
            title: present(employee.job_title),
            location: present(employee.location),
            employment_type: present(employee.employment_history_status),
            manager_email: present(employee.supervisor_email),
            manager_external_id: None,
            groups: None,
            active: !present(employee.status).is_some_and(|s| s.eq_ignore_ascii_case("inactive")),
        }))
    }
}

/// BambooHR puts the reason of a refusal in this header; error bodies are empty.
fn refusal_reason(reply: &Reply) -> String {
    reply
        .headers
        .get("x-bamboohr-error-message")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("no reason given")
        .chars()
        .take(200)
        .collect()
}
