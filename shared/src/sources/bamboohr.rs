//! BambooHR: the employee a webhook named, read through `GET /employees/{id}` with the fields
//! Loadout maps. The API key is the Basic user name; the password is ignored by BambooHR.

use super::credential::SourceCredential;
use super::fetch::{Fetcher, Reply};
use super::{BambooHrConfig, DirectorySource, SourceError, SourceUser};
use crate::domain::EventSource;
use crate::ports::Secrets;
use crate::ports::secrets::keys;
use async_trait::async_trait;
use reqwest::header;
use serde::Deserialize;
use std::sync::Arc;

const NAME: &str = "bamboohr";
/// BambooHR field names (API aliases) Loadout maps; `supervisorEmail` names the manager.
const FIELDS: &str =
    "workEmail,department,jobTitle,location,status,employmentHistoryStatus,supervisorEmail";

pub struct BambooHrReader {
    config: BambooHrConfig,
    fetcher: Fetcher,
    api_key: SourceCredential,
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
            api_key: SourceCredential::fixed(NAME, config.api_key.clone()),
            config,
        })
    }

    /// Reads `LOADOUT_BAMBOOHR_API_KEY` from `secrets` again when BambooHR refuses the key in use.
    pub fn with_secret_source(mut self, secrets: Arc<dyn Secrets>) -> Self {
        self.api_key = self.api_key.read_from(secrets, keys::BAMBOOHR_API_KEY);
        self
    }

    /// GET with the API key; a 401/403 re-reads the key from the secret once (rotation).
    async fn get(&self, url: &str) -> Result<Reply, SourceError> {
        let mut reloaded = false;
        loop {
            let key = self.api_key.current();
            let reply = self
                .fetcher
                .get(url, |r| {
                    r.basic_auth(key.expose(), Some("x"))
                        .header(header::ACCEPT, "application/json")
                })
                .await?;
            if matches!(reply.status, 401 | 403) && !reloaded {
                reloaded = true;
                if self.api_key.reload(&key).await? {
                    continue;
                }
            }
            return Ok(reply);
        }
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
        let reply = self.get(&url).await?;
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
