//! Sends signed HR events to a Loadout endpoint the way an HR system would (Standard Webhooks);
//! used by the demo, by `loadout send-event`, and by the end-to-end tests.

use base64::Engine;
use loadout::webhook::standard_webhooks;

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("the signing secret is not a whsec_ secret")]
    Secret,
    #[error("HTTP: {0}")]
    Http(#[from] reqwest::Error),
}

pub struct HrisSender {
    url: String,
    key: Vec<u8>,
    http: reqwest::Client,
}

/// What came back.
#[derive(Debug, Clone)]
pub struct Sent {
    pub status: u16,
    pub body: serde_json::Value,
}

impl HrisSender {
    pub fn new(base_url: &str, secret: &str) -> Result<Self, SendError> {
        let key = standard_webhooks::decode_secret(secret).map_err(|_| SendError::Secret)?;
        Ok(Self {
            url: format!("{}/webhooks/hris", base_url.trim_end_matches('/')),
            key,
            http: reqwest::Client::new(),
        })
    }

    /// Signs and posts `body` with this `webhook-id` at `timestamp` (unix seconds).
    pub async fn send_at(
        &self,
        body: &[u8],
        webhook_id: &str,
        timestamp: i64,
    ) -> Result<Sent, SendError> {
        let signature = standard_webhooks::sign(&self.key, webhook_id, timestamp, body);
        self.post(body, webhook_id, timestamp, &signature).await
    }

    pub async fn send(&self, body: &[u8], webhook_id: &str) -> Result<Sent, SendError> {
        self.send_at(body, webhook_id, chrono::Utc::now().timestamp())
            .await
    }

    /// Posts with a signature made with the wrong key, as a forger would.
    pub async fn send_forged(&self, body: &[u8], webhook_id: &str) -> Result<Sent, SendError> {
        let now = chrono::Utc::now().timestamp();
        let signature = standard_webhooks::sign(b"not-the-real-key-at-all!", webhook_id, now, body);
        self.post(body, webhook_id, now, &signature).await
    }

    async fn post(
        &self,
        body: &[u8],
        webhook_id: &str,
        timestamp: i64,
        signature: &str,
    ) -> Result<Sent, SendError> {
        let response = self
            .http
            .post(&self.url)
            .header("content-type", "application/json")
            .header("webhook-id", webhook_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body.to_vec())
            .send()
            .await?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await?;
        let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
            serde_json::Value::String(String::from_utf8_lossy(&bytes).into_owned())
        });
        Ok(Sent { status, body })
    }
}

/// A fresh `whsec_` secret (for tests and tools).
pub fn random_whsec() -> String {
    let key: [u8; 32] = rand::random();
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(key)
    )
}
