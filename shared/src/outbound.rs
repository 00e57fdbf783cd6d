//! Outbound HTTP to UEM and the directories (Graph, BambooHR, Okta), the rules both keep:
//!
//! - **No redirects.** A client that follows one sends the request again, headers and all
//!   (`aw-tenant-code`, and the credentials of a same-host hop), wherever the `Location` says. None of
//!   these APIs redirects a correct call, so a 3xx is an error naming the status.
//! - **Bounded bodies.** An answer is read up to a limit and refused past it, so a broken or
//!   hostile server cannot make a function hold an unbounded body in memory.

use bytes::{Bytes, BytesMut};
use std::time::Duration;

/// A client that never follows redirects, with the caller's timeouts.
pub fn client(timeout: Duration, connect_timeout: Duration) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(connect_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("loadout/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Why an answer's body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("the answer is larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("the answer's body could not be read: {0}")]
    Transport(#[source] reqwest::Error),
}

impl BodyError {
    pub fn is_timeout(&self) -> bool {
        matches!(self, BodyError::Transport(e) if e.is_timeout())
    }
}

/// The whole body, unless it is (or announces itself as) longer than `limit` bytes.
pub async fn read_body(mut response: reqwest::Response, limit: usize) -> Result<Bytes, BodyError> {
    if response
        .content_length()
        .is_some_and(|announced| announced > limit as u64)
    {
        return Err(BodyError::TooLarge { limit });
    }
    let mut body = BytesMut::new();
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Transport)? {
        if body.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// A canned HTTP/1.1 server on 127.0.0.1 for tests of the clients: it answers each request with
/// what `answer` returns for the request's head (method, path, headers), and keeps the heads.
#[cfg(test)]
pub(crate) mod canned {
    use std::sync::{Arc, Mutex};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    pub struct Canned {
        pub base_url: String,
        pub requests: Arc<Mutex<Vec<String>>>,
        task: tokio::task::JoinHandle<()>,
    }

    impl Drop for Canned {
        fn drop(&mut self) {
            self.task.abort();
        }
    }

    impl Canned {
        /// The heads of the requests received so far.
        pub fn seen(&self) -> Vec<String> {
            self.requests
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone()
        }
    }

    /// An answer: status line and headers, then the body (`Content-Length` is added).
    pub fn answer(status: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
        let mut out = format!("HTTP/1.1 {status}\r\ncontent-length: {}\r\n", body.len());
        for (name, value) in headers {
            out.push_str(&format!("{name}: {value}\r\n"));
        }
        out.push_str("connection: close\r\n\r\n");
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(body);
        bytes
    }

    pub async fn start(answer: impl Fn(&str) -> Vec<u8> + Send + Sync + 'static) -> Canned {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base_url = format!("http://{}", listener.local_addr().expect("addr"));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        let answer = Arc::new(answer);
        let task = tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let seen = seen.clone();
                let answer = answer.clone();
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 4096];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&head).into_owned();
                    seen.lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(head.clone());
                    let _ = socket.write_all(&answer(&head)).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        Canned {
            base_url,
            requests,
            task,
        }
    }
}
