//! Okta: the user an event hook named, read through the Users API (`GET /api/v1/users/{id}` and
//! their groups), because Okta's profile-update events carry no attributes.

use super::credential::SourceCredential;
use super::fetch::{Fetcher, Reply, follow_pages};
use super::{DirectorySource, OktaConfig, SourceError, SourceUser, check_id};
use crate::domain::EventSource;
use crate::ports::Secrets;
use crate::ports::secrets::keys;
use async_trait::async_trait;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::header;
use serde::Deserialize;
use std::sync::Arc;

const NAME: &str = "okta";
/// Pages of groups read at most; a user in more is cut off (and logged), not looped on.
const MAX_PAGES: usize = 100;
/// Ids are `00u...`; a login (an e-mail address) also names a user.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'@');

pub struct OktaReader {
    config: OktaConfig,
    fetcher: Fetcher,
    token: SourceCredential,
}

impl std::fmt::Debug for OktaReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OktaReader")
            .field("org_url", &self.config.org_url)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct User {
    status: Option<String>,
    #[serde(default)]
    profile: Profile,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Profile {
    login: Option<String>,
    email: Option<String>,
    department: Option<String>,
    title: Option<String>,
    city: Option<String>,
    employee_type: Option<String>,
    manager_id: Option<String>,
}

#[derive(Deserialize)]
struct Group {
    #[serde(rename = "type")]
    kind: Option<String>,
    profile: Option<GroupProfile>,
}

#[derive(Deserialize)]
struct GroupProfile {
    name: Option<String>,
}

impl OktaReader {
    pub fn new(config: OktaConfig) -> Result<Self, SourceError> {
        Ok(Self {
            fetcher: Fetcher::new(NAME, config.timeout)?,
            token: SourceCredential::fixed(NAME, config.api_token.clone()),
            config,
        })
    }

    /// Reads `LOADOUT_OKTA_API_TOKEN` from `secrets` again when Okta refuses the token in use.
    pub fn with_secret_source(mut self, secrets: Arc<dyn Secrets>) -> Self {
        self.token = self.token.read_from(secrets, keys::OKTA_API_TOKEN);
        self
    }

    /// GET with the API token; a 401/403 re-reads the token from the secret once (rotation).
    async fn get(&self, url: &str) -> Result<Reply, SourceError> {
        let mut reloaded = false;
        loop {
            let token = self.token.current();
            let header_value = format!("SSWS {}", token.expose());
            let reply = self
                .fetcher
                .get(url, |r| {
                    r.header(header::AUTHORIZATION, &header_value)
                        .header(header::ACCEPT, "application/json")
                })
                .await?;
            if matches!(reply.status, 401 | 403) && !reloaded {
                reloaded = true;
                if self.token.reload(&token).await? {
                    continue;
                }
            }
            return Ok(reply);
        }
    }

    /// The JSON of a 200 with the next page's link, `None` on 404, a typed error otherwise.
    async fn json<T: for<'de> Deserialize<'de>>(
        &self,
        url: &str,
    ) -> Result<Option<(T, Option<String>)>, SourceError> {
        let reply = self.get(url).await?;
        let next = next_link(&reply.headers);
        Ok(reply
            .json(NAME, |r| okta_error(&r.body))?
            .map(|value| (value, next)))
    }

    /// The names of the user's Okta groups (every page; the built-in `Everyone` left out).
    async fn groups(&self, user_path: &str) -> Result<Vec<String>, SourceError> {
        let url = format!("{}/{user_path}/groups?limit=200", self.config.org_url);
        let names = follow_pages(
            NAME,
            &self.config.org_url,
            url,
            MAX_PAGES,
            |url| async move {
                Ok(self.json::<Vec<Group>>(&url).await?.map(|(page, next)| {
                    let names = page
                        .into_iter()
                        .filter(|g| g.kind.as_deref() != Some("BUILT_IN"))
                        .filter_map(|g| g.profile.and_then(|p| p.name));
                    (names.collect(), next)
                }))
            },
        )
        .await?;
        Ok(names.unwrap_or_default())
    }
}

#[async_trait]
impl DirectorySource for OktaReader {
    fn source(&self) -> EventSource {
        EventSource::Okta
    }

    async fn user(&self, external_id: &str) -> Result<Option<SourceUser>, SourceError> {
        check_id(NAME, "user", external_id)?;
        let user_path = format!("api/v1/users/{}", utf8_percent_encode(external_id, SEGMENT));
        let url = format!("{}/{user_path}", self.config.org_url);
        let Some((user, _)) = self.json::<User>(&url).await? else {
            return Ok(None);
        };
        let groups = self.groups(&user_path).await?;
        let p = user.profile;
        let present = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        // Deactivated and suspended people lose access, as the lifecycle events say.
        let active = !matches!(user.status.as_deref(), Some("DEPROVISIONED" | "SUSPENDED"));
        Ok(Some(SourceUser {
            external_id: external_id.to_owned(),
            account_name: None,
            upn: present(p.login.clone()),
            email: present(p.email).or(present(p.login)),
            department: present(p.department),
            title: present(p.title),
            location: present(p.city),
            employment_type: present(p.employee_type),
            manager_email: None,
            manager_external_id: present(p.manager_id),
            groups: Some(groups),
            active,
        }))
    }
}

/// The `rel="next"` URL of a `Link` header (Okta's cursor paging).
fn next_link(headers: &header::HeaderMap) -> Option<String> {
    headers
        .get_all(header::LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find(|part| part.contains("rel=\"next\""))
        .and_then(|part| {
            let start = part.find('<')? + 1;
            let end = part.find('>')?;
            (start < end).then(|| part[start..end].to_owned())
        })
}

/// `errorCode: errorSummary` of an Okta error body.
fn okta_error(body: &[u8]) -> String {
    let value: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    match (value["errorCode"].as_str(), value["errorSummary"].as_str()) {
        (Some(code), Some(summary)) => format!("{code}: {summary}"),
        (Some(code), None) => code.to_owned(),
        _ => "no error body".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_link_is_found_among_several() {
        let mut h = header::HeaderMap::new();
        h.append(
            header::LINK,
            "<https://acme.okta.com/api/v1/users/1/groups?limit=1>; rel=\"self\""
                .parse()
                .expect("header"),
        );
        h.append(
            header::LINK,
            "<https://acme.okta.com/api/v1/users/1/groups?after=00g2&limit=1>; rel=\"next\""
                .parse()
                .expect("header"),
        );
        assert_eq!(
            next_link(&h).as_deref(),
            Some("https://acme.okta.com/api/v1/users/1/groups?after=00g2&limit=1")
        );
        let mut one = header::HeaderMap::new();
        one.insert(
            header::LINK,
            "<https://a/x>; rel=\"self\", <https://a/y>; rel=\"next\""
                .parse()
                .expect("header"),
        );
        assert_eq!(next_link(&one).as_deref(), Some("https://a/y"));
        assert_eq!(next_link(&header::HeaderMap::new()), None);
    }

    #[test]
    fn okta_errors_are_summarized() {
        let body = br#"{"errorCode":"E0000007","errorSummary":"Not found: Resource not found: x (User)","errorCauses":[]}"#;
        assert_eq!(
            okta_error(body),
            "E0000007: Not found: Resource not found: x (User)"
        );
    }
}
