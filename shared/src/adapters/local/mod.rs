//! The embedded default: one SQLite database file holds the state, the audit trail and the queues,
//! so local mode survives a restart with nothing lost.

mod audit;
mod db;
mod queue;
mod secrets;
mod store;

pub use audit::SqliteAuditLog;
pub use db::{LocalDb, LocalDbError};
pub use queue::{QueueSpec, SqliteQueue};
pub use secrets::LocalSecrets;
pub use store::SqliteStateStore;
