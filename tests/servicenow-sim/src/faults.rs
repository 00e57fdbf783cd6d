//! Scripted failures of the REST APIs (the token endpoint is never faulted): what the next calls
//! answer instead of their normal answer.

use std::collections::VecDeque;
use std::time::Duration;

/// One scripted failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer this status (429 with `Retry-After`, or a 5xx) without doing anything.
    Status(u16),
    /// Do the work (insert the ticket), then answer this 5xx: the client cannot know it worked.
    StatusAfterInsert(u16),
    /// Never answer, without doing anything.
    Hang,
    /// Do the work, then never answer.
    HangAfterInsert,
}

/// Faults consumed one per call, in order.
#[derive(Debug)]
pub struct FaultScript {
    next: VecDeque<Fault>,
    /// How long a scripted 429 asks the client to wait.
    pub retry_after: Duration,
}

impl FaultScript {
    pub fn push(&mut self, n: usize, fault: Fault) {
        self.next.extend(std::iter::repeat_n(fault, n));
    }

    pub fn clear(&mut self) {
        self.next.clear();
    }

    pub fn take(&mut self) -> Option<Fault> {
        self.next.pop_front()
    }

    /// No faults, and one-second `Retry-After`s.
    pub fn new() -> Self {
        Self {
            next: VecDeque::new(),
            retry_after: Duration::from_secs(1),
        }
    }
}
