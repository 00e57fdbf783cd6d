//! BambooHR's errors: a status, an empty body and the detail in `X-BambooHR-Error-Message`.
//! The statuses are BambooHR's documented ones; the header texts are the simulator's wording.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum BambooError {
    #[error("Authentication is required: send the API key as the Basic user name.")]
    MissingAuth,
    #[error("Invalid API key.")]
    BadKey,
    #[error("Company '{0}' was not found.")]
    UnknownCompany(String),
    #[error("No such endpoint.")]
    UnknownEndpoint,
    #[error("Employee not found.")]
    EmployeeNotFound,
    #[error("Invalid employee id '{0}'.")]
    BadEmployeeId(String),
    #[error("Method not allowed.")]
    MethodNotAllowed,
    /// Injected throttling: the status to answer.
    #[error("The API is temporarily unavailable; retry later.")]
    Throttled(u16),
}

impl BambooError {
    pub fn status(&self) -> u16 {
        match self {
            Self::MissingAuth | Self::BadKey => 401,
            Self::UnknownCompany(_) | Self::UnknownEndpoint | Self::EmployeeNotFound => 404,
            Self::BadEmployeeId(_) => 400,
            Self::MethodNotAllowed => 405,
            Self::Throttled(s) => *s,
        }
    }
}
