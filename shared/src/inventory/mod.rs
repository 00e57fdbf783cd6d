//! The UEM inventory: every enrollment user and device, read in bulk pages by the sweep and kept
//! fresh by UEM's enrollment notifications, so that enrichment and identity matching need no UEM
//! call per event. A person the inventory does not know yet is looked up in UEM one at a time
//! (and that read is counted).
//!
//! - `store`: the records in the state store and the look-ups over them.
//! - `refresh`: rebuilding them from UEM's bulk searches, writing only what changed.

mod refresh;
mod store;

pub use refresh::{RefreshError, RefreshReport, refresh_devices, refresh_users};
pub use store::{Inventory, InventoryMeta};
