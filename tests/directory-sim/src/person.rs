//! One person as every directory knows them. Tests seed and change people through this one
//! shape so that Graph, Okta and BambooHR always agree about who exists, as a real HR-driven
//! directory does after provisioning has run.

/// A person as every directory knows them. Empty strings mean "not set" (Graph and Okta answer
/// `null`, BambooHR answers `null` in JSON and an empty element in XML).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Person {
    /// The on-prem sAMAccountName, e.g. `rchen`: Loadout's user id.
    pub user_name: String,
    /// Graph `mail` and `userPrincipalName`; Okta `login` and `email`; BambooHR `workEmail`.
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub department: String,
    pub job_title: String,
    /// Graph `officeLocation`, Okta `city`, BambooHR `location`.
    pub location: String,
    /// A country name, e.g. `United States` (Okta `countryCode` and Graph `usageLocation` carry
    /// its ISO code).
    pub country: String,
    /// e.g. `Full-time`: Graph and Okta `employeeType`, BambooHR `employmentHistoryStatus`.
    pub employment_type: String,
    /// The manager's `user_name`.
    pub manager: Option<String>,
    /// Entra group display names, also Okta group names (BambooHR has no groups).
    pub groups: Vec<String>,
    /// Graph `accountEnabled`; Okta `ACTIVE` / `DEPROVISIONED`; BambooHR status `Active` /
    /// `Inactive`.
    pub active: bool,
}

impl Person {
    /// A person with only a user name and email; every other field empty, active.
    pub fn new(user_name: impl Into<String>, email: impl Into<String>) -> Self {
        Self {
            user_name: user_name.into(),
            email: email.into(),
            active: true,
            ..Self::default()
        }
    }

    /// "First Last", or whichever part is set.
    pub(crate) fn display_name(&self) -> String {
        [self.first_name.as_str(), self.last_name.as_str()]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" ")
    }
}
