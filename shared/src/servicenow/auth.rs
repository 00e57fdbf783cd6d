//! The `Authorization` of calls to the instance: Basic with the integration user, or an OAuth
//! bearer token from `/oauth_token.do` (password grant with the user, client credentials
//! without). Credentials come from the secret on every token fetch, and after a 401/403 the
//! secret is read again once, so that a rotation needs no redeploy.

use super::config::ServiceNowConfig;
use super::error::{ServiceNowError, transport};
use crate::ports::secrets::keys;
use crate::ports::{Clock, SecretString, Secrets};
use base64::Engine;
use chrono::{DateTime, Utc};
use reqwest::header;
use std::sync::Arc;

#[derive(Debug, Clone)]
enum Credentials {
    Basic {
        username: String,
        password: SecretString,
    },
    OAuth {
        client_id: String,
        client_secret: SecretString,
        /// The integration user for the password grant; none for client credentials.
        user: Option<(String, SecretString)>,
    },
}

async fn secret(secrets: &dyn Secrets, key: &str) -> Result<Option<SecretString>, ServiceNowError> {
    secrets
        .get(key)
        .await
        .map_err(|e| ServiceNowError::Transport(format!("reading the secret: {e}")))
}

impl Credentials {
    async fn from_secrets(secrets: &dyn Secrets) -> Result<Self, ServiceNowError> {
        let username = secret(secrets, keys::SERVICENOW_USERNAME).await?;
        let password = secret(secrets, keys::SERVICENOW_PASSWORD).await?;
        let client_id = secret(secrets, keys::SERVICENOW_CLIENT_ID).await?;
        let client_secret = secret(secrets, keys::SERVICENOW_CLIENT_SECRET).await?;
        let user = match (username, password) {
            (Some(u), Some(p)) => Some((u.expose().to_owned(), p)),
            (None, None) => None,
            _ => {
                return Err(ServiceNowError::NotConfigured(format!(
                    "{} and {} go together",
                    keys::SERVICENOW_USERNAME,
                    keys::SERVICENOW_PASSWORD
                )));
            }
        };
        match (client_id, client_secret, user) {
            (Some(id), Some(secret), user) => Ok(Credentials::OAuth {
                client_id: id.expose().to_owned(),
                client_secret: secret,
                user,
            }),
            (None, None, Some((username, password))) => {
                Ok(Credentials::Basic { username, password })
            }
            (None, None, None) => Err(ServiceNowError::NotConfigured(format!(
                "neither {}/{} nor {}/{} is in the secret",
                keys::SERVICENOW_USERNAME,
                keys::SERVICENOW_PASSWORD,
                keys::SERVICENOW_CLIENT_ID,
                keys::SERVICENOW_CLIENT_SECRET
            ))),
            _ => Err(ServiceNowError::NotConfigured(format!(
                "{} and {} go together",
                keys::SERVICENOW_CLIENT_ID,
                keys::SERVICENOW_CLIENT_SECRET
            ))),
        }
    }
}

#[derive(Debug, Clone)]
struct Token {
    header: String,
    refresh_at: DateTime<Utc>,
}

pub(crate) struct Authenticator {
    secrets: Arc<dyn Secrets>,
    clock: Arc<dyn Clock>,
    /// Held while a token is fetched, so concurrent callers share one fetch.
    token: tokio::sync::Mutex<Option<Token>>,
}

impl Authenticator {
    pub fn new(secrets: Arc<dyn Secrets>, clock: Arc<dyn Clock>) -> Self {
        Self {
            secrets,
            clock,
            token: tokio::sync::Mutex::new(None),
        }
    }

    /// The `Authorization` value for the next call.
    pub async fn header(
        &self,
        http: &reqwest::Client,
        config: &ServiceNowConfig,
    ) -> Result<String, ServiceNowError> {
        let mut cached = self.token.lock().await;
        if let Some(t) = cached.as_ref()
            && self.clock.now() < t.refresh_at
        {
            return Ok(t.header.clone());
        }
        match Credentials::from_secrets(self.secrets.as_ref()).await? {
            Credentials::Basic { username, password } => {
                let raw = format!("{username}:{}", password.expose());
                Ok(format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(raw)
                ))
            }
            Credentials::OAuth {
                client_id,
                client_secret,
                user,
            } => {
                let token = self
                    .fetch(http, config, &client_id, &client_secret, user.as_ref())
                    .await?;
                let header = token.header.clone();
                *cached = Some(token);
                Ok(header)
            }
        }
    }

    /// After a refusal: forget the token and read the secret again.
    pub async fn reset(&self) -> Result<(), ServiceNowError> {
        *self.token.lock().await = None;
        self.secrets
            .refresh()
            .await
            .map_err(|e| ServiceNowError::Transport(format!("re-reading the secret: {e}")))
    }

    async fn fetch(
        &self,
        http: &reqwest::Client,
        config: &ServiceNowConfig,
        client_id: &str,
        client_secret: &SecretString,
        user: Option<&(String, SecretString)>,
    ) -> Result<Token, ServiceNowError> {
        let mut form: Vec<(&str, &str)> = vec![
            ("client_id", client_id),
            ("client_secret", client_secret.expose()),
        ];
        match user {
            Some((username, password)) => {
                form.push(("grant_type", "password"));
                form.push(("username", username));
                form.push(("password", password.expose()));
            }
            None => form.push(("grant_type", "client_credentials")),
        }
        let response = http
            .post(config.token_url())
            .timeout(config.timeout)
            .header(header::ACCEPT, "application/json")
            .form(&form)
            .send()
            .await
            .map_err(transport)?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.map_err(transport)?;
        match status {
            200 => {}
            401 | 403 => return Err(ServiceNowError::Unauthorized { status }),
            429 => return Err(ServiceNowError::Throttled { retry_after: None }),
            s if s >= 500 => return Err(ServiceNowError::Server { status: s }),
            s => {
                return Err(ServiceNowError::Refused {
                    status: s,
                    message: "the token request was refused".into(),
                });
            }
        }
        let body: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| ServiceNowError::Decode(format!("token answer: {e}")))?;
        let access = body
            .get("access_token")
            .and_then(|v| v.as_str())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ServiceNowError::Decode("token answer without access_token".into()))?;
        let lifetime = body
            .get("expires_in")
            .and_then(|v| {
                v.as_i64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            })
            .unwrap_or(1800)
            .clamp(1, 86_400);
        // Renew a minute early (a tenth of shorter lifetimes) so no call carries a dying token.
        let margin = (lifetime / 10).min(60);
        Ok(Token {
            header: format!("Bearer {access}"),
            refresh_at: self.clock.now() + chrono::Duration::seconds(lifetime - margin),
        })
    }
}
