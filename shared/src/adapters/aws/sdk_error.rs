//! Turning SDK errors into the one-line descriptions the port errors carry.
//!
//! The SDK's `Display` for `SdkError` says only "service error"; the code and message live in the
//! error metadata. Nothing here ever includes request parameters, so secret values cannot leak.

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// `"<operation>: <code>: <message>"` for service errors, the full error chain otherwise
/// (timeouts, connection failures, credential problems).
pub(crate) fn describe<E, R>(operation: &str, err: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match err {
        SdkError::ServiceError(service) => {
            let e = service.err();
            format!(
                "{operation}: {}: {}",
                e.code().unwrap_or("unknown error code"),
                e.message().unwrap_or("no message")
            )
        }
        other => format!("{operation}: {}", DisplayErrorContext(other)),
    }
}
