//! App approvals: a record per ServiceNow request (one per user, app and device), holding
//! exactly the action that was requested, and moved through its states only by conditional
//! writes. The stages that use it are `stages::approve` (open, expire, installed) and
//! `stages::approval_callback` (the decision).

mod ask;
pub mod callback;
mod record;
mod state;
pub mod store;
mod subject;

pub use ask::{ApprovalAsk, ask_dedup_id, ask_for};
pub use record::{
    ApprovalMark, ApprovalRecord, QueuedAction, TargetPointer, approved_dedup_id, is_request_id,
    request_id,
};
pub use state::{ApprovalState, Effect, StateFilter, UnknownFilter, Verdict, on_verdict};
pub use store::{approval_for, list};
pub use subject::{
    AppPackage, ApprovalSubject, Requester, TargetDevice, approval_request, check_subject, notes,
    uem_platform,
};

/// How long a request waits for a decision before it expires.
pub const DUE_AFTER_DAYS: i64 = 14;
