//! The ports: every effect Loadout has on the world goes through one of these traits. Each has a
//! local adapter (embedded SQLite, environment) and an AWS adapter (DynamoDB, SQS, Secrets Manager),
//! and one conformance suite (`conformance`) that both must pass.

pub mod audit_log;
pub mod bulk_read;
pub mod clock;
pub mod conformance;
#[cfg(test)]
pub mod counting_store;
pub mod queue;
pub mod secrets;
pub mod state_store;

pub use audit_log::{AuditError, AuditLog, AuditQuery};
pub use clock::{Clock, ManualClock, SystemClock, TokioClock};
pub use queue::{OutgoingMessage, Queue, QueueError, ReceivedMessage};
pub use secrets::{NoSecrets, SecretString, Secrets, SecretsError};
pub use state_store::{Condition, Item, StateStore, StateStoreExt, StoreError, TextItem, Write};
