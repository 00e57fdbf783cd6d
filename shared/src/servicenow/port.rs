//! What the approval stage needs from ServiceNow, as a trait so that it can be configured or
//! not, and so that a test can count calls.

use super::error::ServiceNowError;
use super::request::ApprovalRequest;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// A ticket ServiceNow created for an approval request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    /// `REQ0010001`
    pub number: String,
    pub sys_id: String,
    /// Where an admin opens it.
    pub url: String,
}

#[async_trait]
pub trait ServiceNowApi: Send + Sync {
    /// Opens the request, or returns the ticket an earlier attempt created. `maybe_sent`: an
    /// earlier attempt (a crashed process, a failed call) may have reached ServiceNow, so look
    /// for its ticket before posting. Retries within the client's deadline.
    async fn open_request(
        &self,
        request: &ApprovalRequest,
        maybe_sent: bool,
    ) -> Result<Ticket, ServiceNowError>;

    /// The ticket carrying this request id, if any.
    async fn find_ticket(&self, request_id: &str) -> Result<Option<Ticket>, ServiceNowError>;
}
