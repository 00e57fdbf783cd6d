//! Notifiers that go nowhere: one that keeps what it was given (local mode, tests), and one for
//! when notifications are off.

use super::{Notice, Notifier, NotifyError};
use async_trait::async_trait;
use std::sync::Mutex;

/// Keeps every notice in memory, in order.
#[derive(Debug, Default)]
pub struct RecordingNotifier {
    notices: Mutex<Vec<Notice>>,
}

impl RecordingNotifier {
    pub fn notices(&self) -> Vec<Notice> {
        self.notices
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

#[async_trait]
impl Notifier for RecordingNotifier {
    async fn send(&self, notice: &Notice) -> Result<(), NotifyError> {
        self.notices
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(notice.clone());
        Ok(())
    }
}

/// Notifications are not configured.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoNotifier;

#[async_trait]
impl Notifier for NoNotifier {
    async fn send(&self, _notice: &Notice) -> Result<(), NotifyError> {
        Err(NotifyError::NotConfigured)
    }
}
