//! The states of an approval request and which moves are allowed: pure, so the rules can be read
//! (and tested) in one place.
//!
//! ```text
//! Pending Approval ──APPROVED──▶ Install Command Dispatched ──UEM shows it──▶ Installed
//!        │ └────────REJECTED──▶ Rejected
//!        ├──due date passed──▶ Expired
//!        └──could not open──▶ Error ──opened on a later try──▶ Pending Approval
//! ```
//!
//! A callback for a request in Error is honoured like one for a pending request: the ticket's
//! creation could not be confirmed, but a decision about it proves that it exists.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalState {
    PendingApproval,
    InstallCommandDispatched,
    Installed,
    Rejected,
    Expired,
    Error,
}

impl ApprovalState {
    pub const ALL: [ApprovalState; 6] = [
        ApprovalState::PendingApproval,
        ApprovalState::InstallCommandDispatched,
        ApprovalState::Installed,
        ApprovalState::Rejected,
        ApprovalState::Expired,
        ApprovalState::Error,
    ];

    /// The stored name (also the index partition).
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalState::PendingApproval => "pending_approval",
            ApprovalState::InstallCommandDispatched => "install_command_dispatched",
            ApprovalState::Installed => "installed",
            ApprovalState::Rejected => "rejected",
            ApprovalState::Expired => "expired",
            ApprovalState::Error => "error",
        }
    }

    /// The name admins see.
    pub fn label(self) -> &'static str {
        match self {
            ApprovalState::PendingApproval => "Pending Approval",
            ApprovalState::InstallCommandDispatched => "Install Command Dispatched",
            ApprovalState::Installed => "Installed",
            ApprovalState::Rejected => "Rejected",
            ApprovalState::Expired => "Expired",
            ApprovalState::Error => "Error",
        }
    }

    /// An approver said yes (the install may still be on its way).
    pub fn is_approved(self) -> bool {
        matches!(
            self,
            ApprovalState::InstallCommandDispatched | ApprovalState::Installed
        )
    }

    /// When a user's app has requests on several devices, the one that says the most about the
    /// app: approved beats waiting beats a failure to open beats a refusal beats expiry.
    pub fn precedence(self) -> u8 {
        match self {
            ApprovalState::Installed => 6,
            ApprovalState::InstallCommandDispatched => 5,
            ApprovalState::PendingApproval => 4,
            ApprovalState::Error => 3,
            ApprovalState::Rejected => 2,
            ApprovalState::Expired => 1,
        }
    }

    /// Still waiting for a decision (and so may expire).
    pub fn awaits_decision(self) -> bool {
        self == ApprovalState::PendingApproval
    }
}

impl fmt::Display for ApprovalState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// An approver's answer (`approval_status`, any case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Verdict {
    Approved,
    Rejected,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Approved => "APPROVED",
            Verdict::Rejected => "REJECTED",
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("approval_status must be APPROVED or REJECTED, not {0:?}")]
pub struct UnknownVerdict(pub String);

impl FromStr for Verdict {
    type Err = UnknownVerdict;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_uppercase().as_str() {
            "APPROVED" => Ok(Verdict::Approved),
            "REJECTED" => Ok(Verdict::Rejected),
            _ => Err(UnknownVerdict(s.chars().take(40).collect())),
        }
    }
}

/// What a verdict does to a request in a given state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// The request moves to this state.
    Move(ApprovalState),
    /// The same verdict again (a repeated callback): nothing changes.
    Repeat,
    /// The request is past the point where this verdict can apply.
    Conflict,
}

pub fn on_verdict(state: ApprovalState, verdict: Verdict) -> Effect {
    use ApprovalState::*;
    match (state, verdict) {
        (PendingApproval | Error, Verdict::Approved) => Effect::Move(InstallCommandDispatched),
        (PendingApproval | Error, Verdict::Rejected) => Effect::Move(Rejected),
        (InstallCommandDispatched | Installed, Verdict::Approved) => Effect::Repeat,
        (Rejected, Verdict::Rejected) => Effect::Repeat,
        (InstallCommandDispatched | Installed, Verdict::Rejected) => Effect::Conflict,
        (Rejected, Verdict::Approved) => Effect::Conflict,
        (Expired, _) => Effect::Conflict,
    }
}

/// `loadout approvals --state ...`: `approved` covers dispatched and installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateFilter {
    Pending,
    Approved,
    Rejected,
    Expired,
    Error,
}

impl StateFilter {
    pub fn states(self) -> &'static [ApprovalState] {
        match self {
            StateFilter::Pending => &[ApprovalState::PendingApproval],
            StateFilter::Approved => &[
                ApprovalState::InstallCommandDispatched,
                ApprovalState::Installed,
            ],
            StateFilter::Rejected => &[ApprovalState::Rejected],
            StateFilter::Expired => &[ApprovalState::Expired],
            StateFilter::Error => &[ApprovalState::Error],
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown state {0:?} (expected pending, approved, rejected, expired or error)")]
pub struct UnknownFilter(pub String);

impl FromStr for StateFilter {
    type Err = UnknownFilter;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "pending" => Ok(StateFilter::Pending),
            "approved" => Ok(StateFilter::Approved),
            "rejected" => Ok(StateFilter::Rejected),
            "expired" => Ok(StateFilter::Expired),
            "error" => Ok(StateFilter::Error),
            other => Err(UnknownFilter(other.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ApprovalState::*;
    use super::*;

    #[test]
    fn a_pending_request_is_approved_or_rejected_once() {
        assert_eq!(
            on_verdict(PendingApproval, Verdict::Approved),
            Effect::Move(InstallCommandDispatched)
        );
        assert_eq!(
            on_verdict(PendingApproval, Verdict::Rejected),
            Effect::Move(Rejected)
        );
    }

    #[test]
    fn the_same_verdict_again_changes_nothing() {
        assert_eq!(
            on_verdict(InstallCommandDispatched, Verdict::Approved),
            Effect::Repeat
        );
        assert_eq!(on_verdict(Installed, Verdict::Approved), Effect::Repeat);
        assert_eq!(on_verdict(Rejected, Verdict::Rejected), Effect::Repeat);
    }

    #[test]
    fn a_different_verdict_after_a_decision_conflicts() {
        assert_eq!(on_verdict(Rejected, Verdict::Approved), Effect::Conflict);
        assert_eq!(
            on_verdict(InstallCommandDispatched, Verdict::Rejected),
            Effect::Conflict
        );
        assert_eq!(on_verdict(Installed, Verdict::Rejected), Effect::Conflict);
    }

    #[test]
    fn an_expired_request_takes_no_verdict() {
        assert_eq!(on_verdict(Expired, Verdict::Approved), Effect::Conflict);
        assert_eq!(on_verdict(Expired, Verdict::Rejected), Effect::Conflict);
    }

    #[test]
    fn a_decision_about_a_request_that_failed_to_open_is_honoured() {
        assert_eq!(
            on_verdict(Error, Verdict::Approved),
            Effect::Move(InstallCommandDispatched)
        );
    }

    #[test]
    fn verdicts_are_read_in_any_case_and_nothing_else() {
        assert_eq!("approved".parse::<Verdict>().ok(), Some(Verdict::Approved));
        assert_eq!(
            " Rejected ".parse::<Verdict>().ok(),
            Some(Verdict::Rejected)
        );
        assert!("maybe".parse::<Verdict>().is_err());
    }

    #[test]
    fn approved_beats_pending_beats_rejected() {
        let mut states = [Rejected, InstallCommandDispatched, PendingApproval];
        states.sort_by_key(|s| std::cmp::Reverse(s.precedence()));
        assert_eq!(states[0], InstallCommandDispatched);
        assert!(PendingApproval.precedence() > Rejected.precedence());
    }

    #[test]
    fn the_approved_filter_covers_dispatched_and_installed() {
        let f: StateFilter = "approved".parse().expect("known");
        assert_eq!(f.states(), &[InstallCommandDispatched, Installed]);
        assert!("done".parse::<StateFilter>().is_err());
    }
}
