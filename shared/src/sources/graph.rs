//! Microsoft Graph (Entra ID): the user a change notification named, their manager and their
//! groups, with an app-only token from the client-credentials flow.

use super::credential::SourceCredential;
use super::fetch::{Fetcher, Reply, follow_pages, same_origin};
use super::{DirectorySource, GraphConfig, MembersPage, SourceError, SourceUser, check_id};
use crate::domain::EventSource;
use crate::ports::secrets::keys;
use crate::ports::{SecretString, Secrets};
use async_trait::async_trait;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::header;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

const NAME: &str = "graph";
/// The user properties Loadout maps; anything else stays in Entra ID.
const USER_SELECT: &str = "id,userPrincipalName,mail,department,jobTitle,officeLocation,employeeType,accountEnabled,onPremisesSamAccountName";
/// A collection longer than this many pages of 999 is cut off (and logged), not looped on.
const MAX_PAGES: usize = 200;
/// Members per page when a group change is applied a page per invocation: the page's claims,
/// sends and reads fit well inside one enricher invocation, even with the read budget waiting.
const FAN_OUT_PAGE: usize = 200;
/// Renew this long before the token runs out, so no call carries one that expires in flight.
const RENEW_EARLY: Duration = Duration::from_secs(300);
/// A token lifetime longer than this is taken as this long.
const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// Path segment encoding: ids are GUIDs, but a user principal name may carry `#` or `%`.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'@');

pub struct GraphReader {
    config: GraphConfig,
    fetcher: Fetcher,
    client_secret: SourceCredential,
    /// Held while a token is fetched, so concurrent reads share one sign-in.
    token: tokio::sync::Mutex<Option<(String, Instant)>>,
}

impl std::fmt::Debug for GraphReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphReader")
            .field("base_url", &self.config.base_url)
            .field("tenant_id", &self.config.tenant_id)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GraphUser {
    user_principal_name: Option<String>,
    mail: Option<String>,
    department: Option<String>,
    job_title: Option<String>,
    office_location: Option<String>,
    employee_type: Option<String>,
    account_enabled: Option<bool>,
    on_premises_sam_account_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Manager {
    mail: Option<String>,
    user_principal_name: Option<String>,
}

#[derive(Deserialize)]
struct GroupPage {
    #[serde(default)]
    value: Vec<Group>,
    #[serde(rename = "@odata.nextLink")]
    next_link: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Group {
    display_name: Option<String>,
}

#[derive(Deserialize)]
struct MemberPage {
    #[serde(default)]
    value: Vec<Member>,
    #[serde(rename = "@odata.nextLink")]
    next_link: Option<String>,
}

#[derive(Deserialize)]
struct Member {
    id: Option<String>,
}

#[derive(Deserialize)]
struct TokenReply {
    access_token: String,
    expires_in: u64,
}

#[derive(Deserialize)]
struct TokenError {
    error: Option<String>,
    error_description: Option<String>,
}

impl GraphReader {
    pub fn new(config: GraphConfig) -> Result<Self, SourceError> {
        Ok(Self {
            fetcher: Fetcher::new(NAME, config.timeout)?,
            client_secret: SourceCredential::fixed(NAME, config.client_secret.clone()),
            config,
            token: tokio::sync::Mutex::new(None),
        })
    }

    /// Reads `LOADOUT_GRAPH_CLIENT_SECRET` from `secrets` again when Entra refuses the client
    /// secret in use (or Graph refuses the token it bought).
    pub fn with_secret_source(mut self, secrets: Arc<dyn Secrets>) -> Self {
        self.client_secret = self
            .client_secret
            .read_from(secrets, keys::GRAPH_CLIENT_SECRET);
        self
    }

    async fn token(&self, client_secret: &SecretString) -> Result<String, SourceError> {
        let mut slot = self.token.lock().await;
        if let Some((token, expires)) = slot.as_ref()
            && Instant::now() + RENEW_EARLY < *expires
        {
            return Ok(token.clone());
        }
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", self.config.client_id.as_str()),
            ("client_secret", client_secret.expose()),
            ("scope", "https://graph.microsoft.com/.default"),
        ];
        let response = self
            .fetcher
            .http()
            .post(self.config.token_url())
            .form(&form)
            .send()
            .await
            .map_err(|e| SourceError::Transport {
                source_name: NAME,
                detail: format!("token endpoint: {e}"),
            })?;
        let status = response.status().as_u16();
        if response.status().is_redirection() {
            return Err(SourceError::Redirected {
                source_name: NAME,
                status,
            });
        }
        let body = self
            .fetcher
            .body(response)
            .await?
            .map_err(|e| SourceError::Transport {
                source_name: NAME,
                detail: format!("token endpoint: {e}"),
            })?;
        if status != 200 {
            // Entra's error codes (AADSTS...) name the fix; the description never holds the secret.
            let detail = serde_json::from_slice::<TokenError>(&body)
                .ok()
                .map(|e| {
                    let code = e.error.unwrap_or_default();
                    let first_line = e
                        .error_description
                        .unwrap_or_default()
                        .lines()
                        .next()
                        .unwrap_or_default()
                        .to_owned();
                    format!("{code}: {first_line}")
                })
                .unwrap_or_else(|| format!("token endpoint answered HTTP {status}"));
            return Err(if status >= 500 || status == 429 {
                SourceError::Unavailable {
                    source_name: NAME,
                    status,
                    retry_after: None,
                }
            } else {
                SourceError::Unauthorized {
                    source_name: NAME,
                    status,
                    detail,
                }
            });
        }
        let reply: TokenReply = serde_json::from_slice(&body).map_err(|e| SourceError::Decode {
            source_name: NAME,
            detail: format!("token reply: {e}"),
        })?;
        // At most a day, whatever Entra says (and no overflow of the clock on a huge number).
        let lifetime = Duration::from_secs(reply.expires_in).min(MAX_TOKEN_LIFETIME);
        let now = Instant::now();
        let expires = now.checked_add(lifetime).unwrap_or(now);
        *slot = Some((reply.access_token.clone(), expires));
        Ok(reply.access_token)
    }

    /// GET with the bearer token; a 401 (revoked or expired early) gets one fresh token. When
    /// Entra refuses the client secret, or Graph still refuses (401/403) with a fresh token, the
    /// secret is read again once (a rotation) and the call tried with it.
    async fn get(&self, url: &str) -> Result<Reply, SourceError> {
        let mut renewed = false;
        let mut reloaded = false;
        loop {
            let secret = self.client_secret.current();
            let token = match self.token(&secret).await {
                Ok(token) => token,
                Err(SourceError::Unauthorized { .. })
                    if !reloaded && self.client_secret.reload(&secret).await? =>
                {
                    reloaded = true;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let reply = self
                .fetcher
                .get(url, |r| {
                    r.bearer_auth(&token)
                        .header(header::ACCEPT, "application/json")
                })
                .await?;
            if reply.status == 401 && !renewed {
                renewed = true;
                self.forget_token(&token).await;
                continue;
            }
            if matches!(reply.status, 401 | 403) && !reloaded {
                reloaded = true;
                if self.client_secret.reload(&secret).await? {
                    self.forget_token(&token).await;
                    continue;
                }
            }
            return Ok(reply);
        }
    }

    /// Drops the cached token if it is still the one refused (a concurrent call may have
    /// bought a new one already).
    async fn forget_token(&self, refused: &str) {
        let mut slot = self.token.lock().await;
        if slot.as_ref().is_some_and(|(t, _)| t == refused) {
            *slot = None;
        }
    }

    /// The object a URL answered, `None` on 404, a typed error otherwise.
    async fn object<T: for<'de> Deserialize<'de>>(
        &self,
        url: &str,
    ) -> Result<Option<T>, SourceError> {
        self.get(url).await?.json(NAME, |r| graph_error(&r.body))
    }

    async fn groups(&self, user_path: &str) -> Result<Vec<String>, SourceError> {
        let url = format!(
            "{}/{user_path}/memberOf/microsoft.graph.group?$select=displayName&$top=999",
            self.config.base_url
        );
        let names = follow_pages(
            NAME,
            &self.config.base_url,
            url,
            MAX_PAGES,
            |url| async move {
                Ok(self.object::<GroupPage>(&url).await?.map(|p| {
                    let names = p.value.into_iter().filter_map(|g| g.display_name);
                    (names.collect(), p.next_link)
                }))
            },
        )
        .await?;
        Ok(names.unwrap_or_default())
    }
}

#[async_trait]
impl DirectorySource for GraphReader {
    fn source(&self) -> EventSource {
        EventSource::Graph
    }

    async fn user(&self, external_id: &str) -> Result<Option<SourceUser>, SourceError> {
        check_id(NAME, "user", external_id)?;
        let user_path = format!("users/{}", utf8_percent_encode(external_id, SEGMENT));
        let url = format!("{}/{user_path}?$select={USER_SELECT}", self.config.base_url);
        let Some(user) = self.object::<GraphUser>(&url).await? else {
            return Ok(None);
        };
        let manager_url = format!(
            "{}/{user_path}/manager?$select=mail,userPrincipalName",
            self.config.base_url
        );
        let manager = self.object::<Manager>(&manager_url).await?;
        let groups = self.groups(&user_path).await?;
        let present = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        Ok(Some(SourceUser {
            external_id: external_id.to_owned(),
            account_name: present(user.on_premises_sam_account_name),
            upn: present(user.user_principal_name.clone()),
            email: present(user.mail).or(present(user.user_principal_name)),
            department: present(user.department),
            title: present(user.job_title),
            location: present(user.office_location),
            employment_type: present(user.employee_type),
            manager_email: manager.and_then(|m| present(m.mail).or(present(m.user_principal_name))),
            manager_external_id: None,
            groups: Some(groups),
            active: user.account_enabled != Some(false),
        }))
    }

    async fn group_members_page(
        &self,
        group_id: &str,
        cursor: Option<&str>,
    ) -> Result<Option<MembersPage>, SourceError> {
        check_id(NAME, "group", group_id)?;
        let url = match cursor {
            None => self.first_members_page(group_id),
            // The cursor is Graph's own @odata.nextLink, carried on the queue: it must still
            // point at Graph, or the token would go elsewhere.
            Some(next) if same_origin(next, &self.config.base_url) => next.to_owned(),
            Some(_) => {
                return Err(SourceError::Decode {
                    source_name: NAME,
                    detail: "the next page's link points to another host".into(),
                });
            }
        };
        Ok(self.object::<MemberPage>(&url).await?.map(|p| MembersPage {
            ids: p.value.into_iter().filter_map(|m| m.id).collect(),
            next: p.next_link,
        }))
    }

    async fn group_members(&self, group_id: &str) -> Result<Option<Vec<String>>, SourceError> {
        check_id(NAME, "group", group_id)?;
        // Only user members: nested groups and devices hold no apps of their own here.
        let url = format!(
            "{}/groups/{}/members/microsoft.graph.user?$select=id&$top=999",
            self.config.base_url,
            utf8_percent_encode(group_id, SEGMENT)
        );
        follow_pages(
            NAME,
            &self.config.base_url,
            url,
            MAX_PAGES,
            |url| async move {
                Ok(self.object::<MemberPage>(&url).await?.map(|p| {
                    let ids = p.value.into_iter().filter_map(|m| m.id);
                    (ids.collect(), p.next_link)
                }))
            },
        )
        .await
    }
}

impl GraphReader {
    /// The first page of a group's user members, `FAN_OUT_PAGE` at a time.
    fn first_members_page(&self, group_id: &str) -> String {
        format!(
            "{}/groups/{}/members/microsoft.graph.user?$select=id&$top={FAN_OUT_PAGE}",
            self.config.base_url,
            utf8_percent_encode(group_id, SEGMENT)
        )
    }
}

/// `code: message` of a Graph error body, for the dead-letter reason.
fn graph_error(body: &[u8]) -> String {
    let value: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let error = &value["error"];
    match (error["code"].as_str(), error["message"].as_str()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_owned(),
        _ => "no error body".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbound::canned::{self, answer};
    use crate::ports::SecretString;

    const USER: &[u8] = br#"{"id":"u1","userPrincipalName":"jdoe@example.com","mail":"jdoe@example.com","department":"Sales","accountEnabled":true}"#;
    const TOKEN: &[u8] =
        br#"{"token_type":"Bearer","expires_in":18446744073709551615,"access_token":"t0k"}"#;
    const JSON: (&str, &str) = ("content-type", "application/json");

    fn reader(base_url: &str) -> GraphReader {
        let config = GraphConfig::new("tenant", "client", SecretString::new("secret-for-tests"))
            .urls(&format!("{base_url}/v1.0"), base_url);
        GraphReader::new(config).expect("reader")
    }

    /// Graph as the reader expects it: the token endpoint, a user, no manager, no groups.
    fn graph(head: &str) -> Vec<u8> {
        if head.starts_with("POST /tenant/oauth2/v2.0/token") {
            answer("200 OK", &[JSON], TOKEN)
        } else if head.contains("/manager") {
            answer(
                "404 Not Found",
                &[JSON],
                br#"{"error":{"code":"Request_ResourceNotFound"}}"#,
            )
        } else if head.contains("/memberOf") {
            answer("200 OK", &[JSON], br#"{"value":[]}"#)
        } else {
            answer("200 OK", &[JSON], USER)
        }
    }

    #[tokio::test]
    async fn a_token_lifetime_too_large_for_the_clock_is_not_a_panic() {
        let server = canned::start(graph).await;
        let user = reader(&server.base_url).user("u1").await;
        assert!(matches!(user, Ok(Some(_))), "{user:?}");
    }

    #[tokio::test]
    async fn a_redirect_is_an_error_and_not_followed() {
        let elsewhere = canned::start(graph).await;
        let location = format!("{}/v1.0/users/u1", elsewhere.base_url);
        let server = canned::start(move |head| {
            if head.starts_with("POST") {
                graph(head)
            } else {
                answer(
                    "301 Moved Permanently",
                    &[("location", location.as_str())],
                    b"",
                )
            }
        })
        .await;
        let user = reader(&server.base_url).user("u1").await;
        assert!(
            matches!(user, Err(SourceError::Redirected { status: 301, .. })),
            "{user:?}"
        );
        assert!(
            elsewhere.seen().is_empty(),
            "followed: {:?}",
            elsewhere.seen()
        );
    }

    #[tokio::test]
    async fn an_answer_larger_than_the_limit_is_refused() {
        let huge = format!(
            r#"{{"id":"u1","department":"{}"}}"#,
            "x".repeat(super::super::fetch::MAX_BODY_BYTES)
        );
        let server = canned::start(move |head| {
            if head.starts_with("GET /v1.0/users/u1?") {
                answer("200 OK", &[JSON], huge.as_bytes())
            } else {
                graph(head)
            }
        })
        .await;
        let user = reader(&server.base_url).user("u1").await;
        assert!(
            matches!(user, Err(SourceError::TooLarge { .. })),
            "{:?}",
            user.map(|u| u.is_some())
        );
    }

    #[test]
    fn graph_errors_are_summarized_by_code_and_message() {
        let body =
            br#"{"error":{"code":"Request_ResourceNotFound","message":"gone","innerError":{}}}"#;
        assert_eq!(graph_error(body), "Request_ResourceNotFound: gone");
        assert_eq!(graph_error(b"<html>"), "no error body");
    }

    #[test]
    fn user_principal_names_are_encoded_as_one_segment() {
        let encoded = utf8_percent_encode("a#b/c@example.com", SEGMENT).to_string();
        assert_eq!(encoded, "a%23b%2Fc@example.com");
    }
}
