//! Inbound webhooks: one module per source. Each verifies the request as its sender signs or
//! authenticates it and normalizes the payload into domain events; nothing here does I/O.

pub mod error;
pub mod hris;
pub mod http;
pub mod standard_webhooks;

pub use error::WebhookError;
pub use http::{ApiResponse, InboundRequest};
