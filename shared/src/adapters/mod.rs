//! Adapters: the ports (`crate::ports`) implemented against real backends.

#[cfg(feature = "aws")]
pub mod aws;
// The embedded local adapters (SQLite store, durable local queue) are declared here as well.
