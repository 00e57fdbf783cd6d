//! What the HTTP services share: the directory, the token store, the failure script, the call
//! log and the fixed credentials. One `Arc<Shared>` backs every listener so that a test's
//! `update` or `fail_next` applies to whichever API is called next.

use crate::directory::Directory;
use crate::faults::FailNext;
use crate::okta::rate::RateWindow;
use crate::tokens::TokenStore;
use std::sync::{Mutex, MutexGuard};

/// The Graph tenant and app registration the simulator accepts.
#[derive(Debug, Clone)]
pub(crate) struct GraphTenant {
    pub tenant_id: String,
    pub tenant_domain: String,
    pub client_id: String,
    pub client_secret: String,
    /// `http://127.0.0.1:P`, for absolute nextLinks a client can follow.
    pub origin: String,
}

/// The BambooHR company and API key the simulator accepts.
#[derive(Debug, Clone)]
pub(crate) struct BambooCompany {
    pub company_domain: String,
    pub api_key: String,
}

/// The Okta org and API token the simulator accepts.
#[derive(Debug, Clone)]
pub(crate) struct OktaOrg {
    /// `http://127.0.0.1:R`, for `_links` and `Link` headers a client can follow.
    pub origin: String,
    pub api_token: String,
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub directory: Mutex<Directory>,
    pub tokens: Mutex<TokenStore>,
    pub faults: Mutex<FailNext>,
    pub calls: Mutex<Vec<String>>,
    pub graph: GraphTenant,
    pub bamboo: BambooCompany,
    pub okta: OktaOrg,
    pub okta_rate: Mutex<RateWindow>,
}

/// A poisoned lock only means a test panicked while holding it; the data is still usable.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    pub fn record(&self, method: &str, path: &str) {
        lock(&self.calls).push(format!("{method} {path}"));
    }

    /// The status this request must fail with, if the failure script says so.
    pub fn take_failure(&self) -> Option<u16> {
        lock(&self.faults).take()
    }
}
