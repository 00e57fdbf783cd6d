//! The AWS adapters: DynamoDB (state, audit), SQS (queues) and Secrets Manager (secrets).
//!
//! A Lambda function builds one [`AwsContext`] in `main` and takes its adapters from it:
//!
//! ```no_run
//! # async fn f() -> Result<(), loadout::adapters::aws::AwsConfigError> {
//! use loadout::adapters::aws::{AwsContext, DEFAULT_SECRET_TTL};
//! use loadout::ports::SystemClock;
//! use std::sync::Arc;
//!
//! let aws = AwsContext::from_env().await;
//! let store = aws.state_store(Arc::new(SystemClock))?;
//! let audit = aws.audit_log()?;
//! let queue = aws.queue();
//! let secrets = aws.secrets(DEFAULT_SECRET_TTL)?;
//! # Ok(()) }
//! ```

pub mod audit_log;
pub mod context;
#[cfg(feature = "emulator")]
pub mod emulator;
pub mod provision;
pub mod queue;
mod sdk_error;
pub mod secrets;
pub mod state_store;

pub use audit_log::DynamoAuditLog;
pub use context::{
    AwsConfigError, AwsContext, AwsContextBuilder, AwsSettings, DEFAULT_SECRET_TTL, env,
};
pub use queue::SqsQueue;
pub use secrets::SecretsManagerSecrets;
pub use state_store::DynamoStateStore;
