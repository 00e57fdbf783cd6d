//! `Secrets` on one Secrets Manager secret: a JSON object of strings keyed like the local-mode
//! environment variables (`crate::ports::secrets::keys`). The document is cached in memory for a
//! TTL, so a warm Lambda instance reads it once per TTL; `refresh()` drops it, which callers do
//! after a credential was refused (it may have been rotated).
//!
//! Error messages name keys, never values: serde's type errors quote the offending value, so they
//! are not passed on.

use super::sdk_error::describe;
use crate::ports::secrets::{SecretString, Secrets, SecretsError};
use async_trait::async_trait;
use aws_sdk_secretsmanager::Client;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

#[derive(Debug)]
struct Cached {
    fetched: Instant,
    values: Arc<HashMap<String, SecretString>>,
}

#[derive(Debug)]
pub struct SecretsManagerSecrets {
    client: Client,
    secret_id: String,
    ttl: Duration,
    /// One lock for reads and fetches: concurrent callers on a cold cache wait for one fetch.
    cache: Mutex<Option<Cached>>,
}

impl SecretsManagerSecrets {
    /// `secret_id`: the secret's ARN or name.
    pub fn new(client: Client, secret_id: impl Into<String>, ttl: Duration) -> Self {
        Self {
            client,
            secret_id: secret_id.into(),
            ttl,
            cache: Mutex::new(None),
        }
    }

    async fn fetch(&self) -> Result<HashMap<String, SecretString>, SecretsError> {
        let out = self
            .client
            .get_secret_value()
            .secret_id(&self.secret_id)
            .send()
            .await
            .map_err(|e| SecretsError::Unavailable(describe("GetSecretValue", &e)))?;
        let text = out.secret_string().ok_or_else(|| {
            SecretsError::Malformed(
                "the secret has no string value (binary secrets are not read)".into(),
            )
        })?;
        parse_document(text)
    }
}

/// The secret document: a JSON object whose values are all strings.
fn parse_document(text: &str) -> Result<HashMap<String, SecretString>, SecretsError> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        SecretsError::Malformed(format!(
            "not JSON ({:?} error at line {} column {})",
            e.classify(),
            e.line(),
            e.column()
        ))
    })?;
    let serde_json::Value::Object(map) = value else {
        return Err(SecretsError::Malformed(
            "the document is not a JSON object".into(),
        ));
    };
    map.into_iter()
        .map(|(key, value)| match value {
            serde_json::Value::String(v) => Ok((key, SecretString::new(v))),
            _ => Err(SecretsError::Malformed(format!(
                "the value of {key} is not a string"
            ))),
        })
        .collect()
}

#[async_trait]
impl Secrets for SecretsManagerSecrets {
    #[tracing::instrument(level = "debug", name = "secrets.get", skip_all)]
    async fn get(&self, key: &str) -> Result<Option<SecretString>, SecretsError> {
        let mut cache = self.cache.lock().await;
        let values = match cache.as_ref() {
            Some(c) if c.fetched.elapsed() < self.ttl => c.values.clone(),
            _ => {
                let values = Arc::new(self.fetch().await?);
                *cache = Some(Cached {
                    fetched: Instant::now(),
                    values: values.clone(),
                });
                values
            }
        };
        Ok(values.get(key).cloned())
    }

    async fn refresh(&self) -> Result<(), SecretsError> {
        *self.cache.lock().await = None;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_is_an_object_of_strings() {
        let ok = parse_document(r#"{"LOADOUT_ADMIN_TOKEN": "t0k", "LOADOUT_UEM_PASSWORD": ""}"#)
            .expect("valid");
        assert_eq!(ok["LOADOUT_ADMIN_TOKEN"].expose(), "t0k");
        assert!(matches!(
            parse_document("[]"),
            Err(SecretsError::Malformed(_))
        ));
    }

    #[test]
    fn errors_never_quote_secret_values() {
        let err = parse_document(r#"{"LOADOUT_UEM_PASSWORD": 1234567}"#).expect_err("not a string");
        let text = err.to_string();
        assert!(text.contains("LOADOUT_UEM_PASSWORD"), "{text}");
        assert!(!text.contains("1234567"), "{text}");
        let err = parse_document(r#"{"k": "hunter2"#).expect_err("truncated");
        assert!(!err.to_string().contains("hunter2"));
    }
}
