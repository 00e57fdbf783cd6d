//! The vocabulary of Loadout: who users are, what devices and apps exist, what happened, what was
//! decided and what was done. Pure data: nothing in here does I/O.

pub mod action;
pub mod audit;
pub mod catalog;
pub mod context;
pub mod decision;
pub mod device;
pub mod employee;
pub mod envelope;
pub mod event;
pub mod ids;
pub mod org;
pub mod population;

pub use action::{Action, ActionKind, ActionStatus, PushMode, UemTarget};
pub use audit::{AuditKind, AuditRecord};
pub use catalog::{Automation, Catalog, CatalogApp, CatalogError, LicenseTerms, Risk};
pub use context::{AppUsage, UserContext};
pub use decision::{Decision, Denial, Entitlement, Reason};
pub use device::{Device, Ownership, Platform};
pub use employee::Employee;
pub use envelope::{Envelope, MessageKind, SCHEMA_VERSION};
pub use event::{DomainEvent, EventKind, EventSource, Subject};
pub use ids::{ActionId, AppId, CorrelationId, EventId, UserId};
pub use population::Population;
