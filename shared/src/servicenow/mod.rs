//! ServiceNow, for app approvals: Loadout opens a request the way Workspace ONE Intelligence's
//! "App Approvals" integration does (POST `<instance>/api/<namespace>/appapproval/request`), so
//! the ServiceNow side (a scripted REST API, custom `sc_request` columns, a flow that asks for
//! approval and calls back) is the one the README sets up. The decision comes back on
//! `POST /approvals/servicenow` (`stages::approval_callback`).

mod auth;
mod client;
mod config;
mod error;
mod port;
mod request;

pub use client::ServiceNowClient;
pub use config::{CALLBACK_PATH, ServiceNowConfig, settings};
pub use error::ServiceNowError;
pub use port::{ServiceNowApi, Ticket};
pub use request::{
    APP_NAME_MAX, ApprovalNotify, ApprovalRequest, CALLBACK_URL_MAX, COLUMN_DEFAULT_MAX,
    CatalogItem, CatalogItemProperties, DeviceProperties, Links, NOTES_MAX, REQUEST_ID_MAX,
    RequestFor, UserAttributes, clip,
};
