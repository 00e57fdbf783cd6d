//! Starting the fake endpoint, scripting its replies and reading what it was sent.

use crate::converse::converse;
use crate::reply::Reply;
use axum::Router;
use axum::routing::post;
use serde_json::Value;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// One Converse request the endpoint received and how it answered.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedCall {
    /// The model id from the path, percent-decoded.
    pub model_id: String,
    /// Whether an `Authorization` header in the SigV4 form came with it (not verified).
    pub signed: bool,
    pub content_type: String,
    /// The request body exactly as received.
    pub body: String,
    /// The body parsed (`Null` when it was not JSON).
    pub json: Value,
    pub status: u16,
    /// The error code answered, if the answer was an error.
    pub error_code: Option<String>,
}

pub(crate) struct Scripted {
    pub reply: Reply,
    /// (input tokens, output tokens) to report instead of the estimate.
    pub usage: Option<(u64, u64)>,
}

pub(crate) struct Shared {
    pub models: Vec<String>,
    pub script: Mutex<VecDeque<Scripted>>,
    pub calls: Mutex<Vec<RecordedCall>>,
    pub stops: watch::Sender<bool>,
}

/// A Bedrock Runtime endpoint on 127.0.0.1.
pub struct BedrockSim {
    base_url: String,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl BedrockSim {
    /// Starts an endpoint that knows [`crate::DEFAULT_MODEL_ID`].
    pub async fn start() -> std::io::Result<Self> {
        Self::start_with_models(&[crate::DEFAULT_MODEL_ID]).await
    }

    /// Starts an endpoint that knows these model ids (any other is a `ValidationException`).
    pub async fn start_with_models(models: &[&str]) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let (stops, mut stopped) = watch::channel(false);
        let shared = Arc::new(Shared {
            models: models.iter().map(|m| (*m).to_owned()).collect(),
            script: Mutex::default(),
            calls: Mutex::default(),
            stops,
        });
        let app = Router::new()
            .route("/model/{model_id}/converse", post(converse))
            .with_state(Arc::clone(&shared));
        let task = tokio::spawn(async move {
            let result = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.wait_for(|s| *s).await;
                })
                .await;
            if let Err(e) = result {
                tracing::warn!(error = %e, "Bedrock simulator listener failed");
            }
        });
        Ok(Self {
            base_url,
            shared,
            task,
        })
    }

    /// `http://127.0.0.1:P`, for the SDK's `endpoint_url`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The next call not yet scripted gets `reply`; token counts are estimated from the text.
    pub fn push(&self, reply: Reply) {
        lock(&self.shared.script).push_back(Scripted { reply, usage: None });
    }

    /// Like [`push`](Self::push), reporting exactly these token counts in `usage`.
    pub fn push_with_usage(&self, reply: Reply, input_tokens: u64, output_tokens: u64) {
        lock(&self.shared.script).push_back(Scripted {
            reply,
            usage: Some((input_tokens, output_tokens)),
        });
    }

    /// Every call received, in order.
    pub fn requests(&self) -> Vec<RecordedCall> {
        lock(&self.shared.calls).clone()
    }

    /// Replies scripted but not used yet.
    pub fn pending_replies(&self) -> usize {
        lock(&self.shared.script).len()
    }

    /// Stops the listener and ends any delayed answer.
    pub async fn shutdown(self) {
        let _ = self.shared.stops.send(true);
        let _ = self.task.await;
    }
}
