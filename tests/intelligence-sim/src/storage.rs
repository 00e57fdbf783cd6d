//! The storage host that a download's 302 points at: a signed, expiring URL
//! (`?Expires=..&Signature=..&Key-Pair-Id=..`, the guide's sample) that answers the report
//! bytes as `application/octet-stream`. It takes no bearer token: a request that carries an
//! `Authorization` header besides the signature is refused with 400, as S3 refuses two
//! authentication mechanisms (the storage's behaviour is not in the guide; this is inferred).
//! Expired or unknown signatures answer 403 `AccessDenied`.

use crate::render::file_of;
use crate::state::{Shared, lock};
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use tokio::time::Instant;

pub(crate) fn serve(
    sim: &Shared,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
) -> Response {
    if headers.contains_key(header::AUTHORIZATION) {
        return xml_error(
            400,
            "InvalidArgument",
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified",
        );
    }
    let param = |name: &str| {
        query.unwrap_or_default().split('&').find_map(|p| {
            let (k, v) = p.split_once('=')?;
            (k == name).then(|| v.to_owned())
        })
    };
    let (Some(signature), Some(_), Some(_)) =
        (param("Signature"), param("Expires"), param("Key-Pair-Id"))
    else {
        return xml_error(
            403,
            "AccessDenied",
            "Missing Key-Pair-Id query parameter or cookie value",
        );
    };
    let qualified = lock(&sim.behaviour).qualified_headers;
    let now_wall = sim.now_wall();
    let tenant = lock(&sim.tenant);
    let Some(signed) = tenant.signed.get(&signature) else {
        return xml_error(403, "AccessDenied", "Access denied");
    };
    if signed.expires <= Instant::now() {
        return xml_error(403, "AccessDenied", "Request has expired");
    }
    let Some(run) = tenant
        .runs
        .iter()
        .find(|r| r.tracking_id == signed.tracking_id)
    else {
        return xml_error(404, "NoSuchKey", "The specified key does not exist.");
    };
    if path.trim_start_matches('/') != run.location {
        return xml_error(403, "AccessDenied", "Access denied");
    }
    let Some(report) = tenant.reports.get(&run.report_id) else {
        return xml_error(404, "NoSuchKey", "The specified key does not exist.");
    };
    let file = file_of(&tenant.usage, report, run.range, now_wall, qualified);
    drop(tenant);
    let mut response = Response::new(Body::from_stream(file.stream()));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    response
}

fn xml_error(status: u16, code: &str, message: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    );
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::FORBIDDEN);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml"),
    );
    response
}
