//! What admins ask of Loadout, answered from the state store and the audit log (the CLI renders
//! the answers; the same code reads the local store or DynamoDB).
//!
//! - `explain`: why a user has (or lacks) an app: desired, observed in UEM, the difference.
//! - `status`: people parked until UEM knows them, users flagged for the next sweep, pending
//!   changes, the last sweep.
//! - `recommendations`, `breakers`: what the gates hold, and an admin's verdict on it.
//! - `policy`: policy set versions, activating one.

pub mod breakers;
pub mod dlq;
pub mod explain;
pub mod policy;
pub mod recommendations;
pub mod status;
