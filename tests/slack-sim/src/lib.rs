//! A simulator of a Slack incoming webhook: `POST /services/T.../B.../<secret>` with a JSON
//! message (`text`, `blocks`, ...) is recorded and answered `200 ok` (text/plain), as Slack does;
//! Slack's error answers can be scripted.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use slack_sim::{SlackFault, SlackSim};
//! let slack = SlackSim::start().await?;
//! slack.fail_next(1, SlackFault::RateLimited { retry_after_secs: 1 });
//! // ... a client posts to slack.webhook_url ...
//! for post in slack.delivered() {
//!     println!("{}", post.payload["text"]);
//! }
//! slack.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Confirmed (Slack's changelog of 2016-05-17 on incoming-webhook errors, the SDK's
//! `IncomingWebhookSendArguments`): the URL shape, a JSON body with `text` and/or `blocks`
//! (`attachments`, `channel`, `username`, `icon_*`, `unfurl_*` also accepted), `200` with the
//! plain-text body `ok`, errors as plain-text codes: 400 `invalid_payload` / `user_not_found`,
//! 403 `action_prohibited`, 404 `channel_not_found`, 410 `channel_is_archived`,
//! 500 `rollup_error`. Secondary sources: `no_service` (a revoked URL), `invalid_blocks`,
//! `no_text`, 429 `rate_limited` with `Retry-After`.
//!
//! Recalled (Block Kit reference, not re-read): at most 50 blocks, a section's text at most 3000
//! characters, a header's 150, a context block at most 10 elements; the form-encoded
//! `payload=<json>` variant.
//!
//! Chosen here: which check gives which code (a body that is not JSON `invalid_payload`, no
//! `text`/`blocks`/`attachments` `no_text`, a block that breaks the rules above
//! `invalid_blocks`), an unknown webhook path 404 `no_service`, other methods 405, the 503 body
//! `service_unavailable`, and a hang that lasts until the simulator stops.

mod handle;
mod receive;

pub use handle::{Post, SlackFault, SlackSim};
