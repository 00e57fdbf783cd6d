//! Adapters: implementations of the ports. `local` is the embedded default (SQLite, environment),
//! `aws` the production one (DynamoDB, SQS, Secrets Manager).

#[cfg(feature = "aws")]
pub mod aws;
#[cfg(feature = "local")]
pub mod local;
