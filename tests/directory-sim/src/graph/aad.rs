//! Entra ID (AAD) token errors: the OAuth `error` plus AAD's `AADSTS` code, whose description
//! ends with trace id, correlation id and timestamp lines, and which repeats those as fields.
//! Clients such as MSAL show `error_description` and branch on `error` and `error_codes`.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};

/// The content type Entra puts on token responses, success or error.
pub(crate) const AAD_JSON: &str = "application/json; charset=utf-8";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum AadError {
    #[error(
        "AADSTS900561: The endpoint only accepts POST, OPTIONS requests. Received a {0} request."
    )]
    NotPost(String),
    #[error(
        "AADSTS90002: Tenant '{0}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant."
    )]
    UnknownTenant(String),
    #[error("AADSTS900144: The request body must contain the following parameter: '{0}'.")]
    MissingParameter(&'static str),
    #[error("AADSTS70003: The app requested an unsupported grant type '{0}'.")]
    UnsupportedGrant(String),
    #[error(
        "AADSTS700016: Application with identifier '{client}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."
    )]
    UnknownClient { client: String, tenant: String },
    #[error(
        "AADSTS90014: The required field 'scope' is missing from the credential. Ensure that you have all the necessary parameters for the login request."
    )]
    MissingScope,
    #[error(
        "AADSTS1002012: The provided value for scope {0} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
    )]
    ScopeNotDefault(String),
    #[error(
        "AADSTS500011: The resource principal named {resource} was not found in the tenant named {tenant}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant."
    )]
    UnknownResource { resource: String, tenant: String },
    #[error("AADSTS70011: The provided value for the input parameter 'scope' is not valid.")]
    InvalidScope,
    #[error(
        "AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'."
    )]
    MissingSecret,
    #[error(
        "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{0}'."
    )]
    WrongSecret(String),
}

impl AadError {
    pub fn status(&self) -> u16 {
        match self {
            Self::MissingSecret | Self::WrongSecret(_) => 401,
            _ => 400,
        }
    }

    pub fn error(&self) -> &'static str {
        match self {
            Self::NotPost(_)
            | Self::UnknownTenant(_)
            | Self::MissingParameter(_)
            | Self::MissingScope => "invalid_request",
            Self::UnsupportedGrant(_) => "unsupported_grant_type",
            Self::UnknownClient { .. } => "unauthorized_client",
            Self::ScopeNotDefault(_) | Self::InvalidScope => "invalid_scope",
            Self::UnknownResource { .. } => "invalid_resource",
            Self::MissingSecret | Self::WrongSecret(_) => "invalid_client",
        }
    }

    pub fn code(&self) -> u32 {
        match self {
            Self::NotPost(_) => 900_561,
            Self::UnknownTenant(_) => 90002,
            Self::MissingParameter(_) => 900_144,
            Self::UnsupportedGrant(_) => 70003,
            Self::UnknownClient { .. } => 700_016,
            Self::MissingScope => 90014,
            Self::ScopeNotDefault(_) => 1_002_012,
            Self::UnknownResource { .. } => 500_011,
            Self::InvalidScope => 70011,
            Self::MissingSecret => 7_000_218,
            Self::WrongSecret(_) => 7_000_215,
        }
    }

    /// The JSON body; `correlation_id` is the caller's `client-request-id` when it sent one.
    pub fn body(&self, correlation_id: &str) -> Value {
        let trace_id = uuid::Uuid::new_v4().to_string();
        let timestamp = chrono::Utc::now().format("%Y-%m-%d %H:%M:%SZ").to_string();
        json!({
            "error": self.error(),
            "error_description": format!(
                "{self}\r\nTrace ID: {trace_id}\r\nCorrelation ID: {correlation_id}\r\nTimestamp: {timestamp}"
            ),
            "error_codes": [self.code()],
            "timestamp": timestamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": format!("https://login.microsoftonline.com/error?code={}", self.code()),
        })
    }
}

/// A token-endpoint answer: JSON with Entra's content type and its no-cache headers.
pub(crate) fn token_response(status: u16, body: &Value, correlation_id: &str) -> Response {
    let mut resp = Response::new(Body::from(body.to_string()));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(AAD_JSON));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store, no-cache"),
    );
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    if let Ok(v) = HeaderValue::from_str(correlation_id) {
        h.insert("client-request-id", v);
    }
    if let Ok(v) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
        h.insert("x-ms-request-id", v);
    }
    resp
}
