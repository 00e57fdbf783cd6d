//! The service-account token endpoint (`POST /oauth/token` on the auth host) and bearer checks
//! on the API host. The guide's request: `?grant_type=client_credentials` with
//! `Authorization: Basic base64(clientId:clientSecret)` and no body; public scripts send a form
//! body (`grant_type`, `client_id`, `client_secret`) instead: both are accepted.

use crate::respond::json;
use crate::state::{Shared, lock};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::json;
use tokio::time::Instant;

pub(crate) fn token(
    sim: &Shared,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let mut params = form_pairs(query.unwrap_or_default());
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if is_form || !body.is_empty() {
        params.extend(form_pairs(&String::from_utf8_lossy(body)));
    }
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    if get("grant_type").as_deref() != Some("client_credentials") {
        return oauth_error(400, "unsupported_grant_type", "Unsupported grant type");
    }
    let (id, secret) = match (basic(headers), get("client_id"), get("client_secret")) {
        (Some(pair), _, _) => pair,
        (None, Some(i), Some(s)) => (i, s),
        _ => return oauth_error(401, "unauthorized", "Full authentication is required"),
    };
    let lifetime = lock(&sim.behaviour).token_lifetime;
    let mut tenant = lock(&sim.tenant);
    if id != sim.client_id || secret != tenant.client_secret {
        return oauth_error(401, "invalid_client", "Bad client credentials");
    }
    let jti = sim.next_id(&mut tenant);
    let now = sim.now_wall().timestamp();
    let claims = json!({
        "sub": id,
        "aud": ["api.data.workspaceone.com"],
        "nbf": now,
        "exp": now + lifetime.as_secs() as i64,
        "iss": "https://auth.sim.data.workspaceone.com",
        "jti": jti,
        "scope": ["dpa.merlot.report", "dpa.merlot.reporttracking", "dpa.merlot.reportmetadata"],
        "vmware.org_id": sim.org_id,
    });
    let header_part = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signature = URL_SAFE_NO_PAD.encode(crate::data::mix(tenant.counter).to_be_bytes());
    let access_token = format!("{header_part}.{payload}.{signature}");
    tenant
        .tokens
        .insert(access_token.clone(), Instant::now() + lifetime);
    json(
        200,
        &json!({
            "access_token": access_token,
            "expires_in": lifetime.as_secs(),
            "iss": "https://auth.sim.data.workspaceone.com",
            "jti": jti,
            "nbf": now,
            "scope": "dpa.merlot.report dpa.merlot.reporttracking dpa.merlot.reportmetadata",
            "token_type": "bearer",
            "dpa.org_id": sim.org_id,
        }),
    )
}

/// Whether the request carries a live token this simulator issued.
pub(crate) fn check_bearer(sim: &Shared, headers: &HeaderMap) -> Result<(), &'static str> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or("Full authentication is required to access this resource")?;
    let (scheme, token) = value
        .split_once(' ')
        .ok_or("Malformed Authorization header")?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err("Full authentication is required to access this resource");
    }
    let tenant = lock(&sim.tenant);
    match tenant.tokens.get(token.trim()) {
        Some(exp) if *exp > Instant::now() => Ok(()),
        Some(_) => Err("Access token expired"),
        None => Err("Invalid access token"),
    }
}

fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let text = String::from_utf8(STANDARD.decode(rest.trim()).ok()?).ok()?;
    let (u, p) = text.split_once(':')?;
    Some((u.to_owned(), p.to_owned()))
}

fn form_pairs(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// `application/x-www-form-urlencoded` decoding (`+` is a space, `%XX` a byte).
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match u8::from_str_radix(&s[i + 1..i + 3], 16) {
                Ok(b) => {
                    out.push(b);
                    i += 2;
                }
                Err(_) => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// OAuth-style error body (the guide shows none; this is Spring Security's shape).
fn oauth_error(status: u16, error: &str, description: &str) -> Response {
    let mut r = json(
        status,
        &json!({ "error": error, "error_description": description }),
    );
    if status == 401 {
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Basic realm=\"oauth2/client\""),
        );
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_values_are_decoded() {
        assert_eq!(decode("a%40b.c+d"), "a@b.c d");
        assert_eq!(decode("100%"), "100%");
        assert_eq!(decode("%4"), "%4");
    }
}
