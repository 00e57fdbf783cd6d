//! Who may call the instance: the integration user with Basic auth, or a bearer token issued by
//! `/oauth_token.do` (password grant for the integration user, or client credentials).

use crate::respond::{json_response, oauth_denied};
use crate::state::{IssuedToken, Shared, lock};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use base64::Engine;
use serde_json::json;

/// Whether the request carries credentials the instance accepts.
pub fn authenticated(sim: &Shared, headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let (scheme, rest) = value.trim().split_once(' ').unwrap_or((value, ""));
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("basic") {
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(rest) else {
            return false;
        };
        let c = &sim.config.credentials;
        return decoded == format!("{}:{}", c.username, c.password).as_bytes();
    }
    if scheme.eq_ignore_ascii_case("bearer") {
        return lock(&sim.tokens)
            .get(rest)
            .is_some_and(|t| chrono::Utc::now() < t.expires_at);
    }
    false
}

fn form(body: &[u8]) -> Vec<(String, String)> {
    String::from_utf8_lossy(body)
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |s: &str| {
                percent_encoding::percent_decode_str(&s.replace('+', " "))
                    .decode_utf8_lossy()
                    .into_owned()
            };
            (decode(k), decode(v))
        })
        .collect()
}

/// `POST /oauth_token.do` (form-encoded): `grant_type=password` with the client and the user,
/// `client_credentials` with the client alone, or `refresh_token`.
pub fn token(sim: &Shared, headers: &HeaderMap, body: &[u8]) -> Response {
    let form_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form_type {
        return oauth_denied();
    }
    let params = form(body);
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let c = &sim.config.credentials;
    let client_ok = get("client_id") == Some(c.client_id.as_str())
        && get("client_secret") == Some(c.client_secret.as_str());
    let granted = client_ok
        && match get("grant_type") {
            Some("password") => {
                get("username") == Some(c.username.as_str())
                    && get("password") == Some(c.password.as_str())
            }
            Some("client_credentials") => true,
            Some("refresh_token") => get("refresh_token").is_some_and(|r| r.starts_with("rt-")),
            _ => false,
        };
    if !granted {
        return oauth_denied();
    }
    let lifetime = sim.config.token_lifetime;
    let access = uuid::Uuid::new_v4().simple().to_string();
    let expires_at = chrono::Utc::now()
        + chrono::Duration::from_std(lifetime).unwrap_or_else(|_| chrono::Duration::seconds(1800));
    lock(&sim.tokens).insert(access.clone(), IssuedToken { expires_at });
    json_response(
        200,
        &json!({
            "access_token": access,
            "refresh_token": format!("rt-{}", uuid::Uuid::new_v4().simple()),
            "scope": "useraccount",
            "token_type": "Bearer",
            "expires_in": lifetime.as_secs().saturating_sub(1),
        }),
    )
}
