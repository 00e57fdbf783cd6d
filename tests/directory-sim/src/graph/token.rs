//! The Entra v2.0 token endpoint for the client-credentials grant:
//! `POST /{tenant}/oauth2/v2.0/token`, form-encoded, client secret in the body or in Basic.
//! The tenant may be named by id or by its `onmicrosoft.com` domain, as in Entra.

use super::aad::{AadError, token_response};
use crate::basic::basic_credentials;
use crate::encoding::percent_decode;
use crate::encoding::query_pairs;
use crate::state::{Shared, lock};
use crate::tokens::TOKEN_LIFETIME_SECS;
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;
use std::collections::HashMap;

const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";
const GRAPH_RESOURCES: &[&str] = &["https://graph.microsoft.com", GRAPH_APP_ID];

pub(crate) fn token(
    sim: &Shared,
    tenant: &str,
    method: &Method,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let correlation_id = headers
        .get("client-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.trim().is_empty())
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
    match issue(sim, tenant, method, headers, body) {
        Ok(access_token) => token_response(
            200,
            &json!({
                "token_type": "Bearer",
                "expires_in": TOKEN_LIFETIME_SECS,
                "ext_expires_in": TOKEN_LIFETIME_SECS,
                "access_token": access_token,
            }),
            &correlation_id,
        ),
        Err(e) => token_response(e.status(), &e.body(&correlation_id), &correlation_id),
    }
}

/// Checks the request in Entra's order (tenant, grant, client, scope, secret) and issues a
/// token, remembering it for the Graph side.
fn issue(
    sim: &Shared,
    tenant: &str,
    method: &Method,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<String, AadError> {
    if method != Method::POST {
        return Err(AadError::NotPost(method.to_string()));
    }
    let t = &sim.graph;
    if !(tenant.eq_ignore_ascii_case(&t.tenant_id) || tenant.eq_ignore_ascii_case(&t.tenant_domain))
    {
        return Err(AadError::UnknownTenant(tenant.to_owned()));
    }
    let text = String::from_utf8_lossy(body);
    let form: HashMap<String, String> = query_pairs(Some(&text)).into_iter().collect();
    let field = |k: &str| form.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    match field("grant_type") {
        None => return Err(AadError::MissingParameter("grant_type")),
        Some("client_credentials") => {}
        Some(other) => return Err(AadError::UnsupportedGrant(other.to_owned())),
    }
    let basic = client_basic(headers);
    let client_id = basic
        .as_ref()
        .map(|(u, _)| u.as_str())
        .or_else(|| field("client_id"))
        .ok_or(AadError::MissingParameter("client_id"))?;
    if !client_id.eq_ignore_ascii_case(&t.client_id) {
        return Err(AadError::UnknownClient {
            client: client_id.to_owned(),
            tenant: t.tenant_id.clone(),
        });
    }
    check_scope(field("scope"), &t.tenant_id)?;
    let secret = basic
        .as_ref()
        .map(|(_, p)| p.as_str())
        .or_else(|| field("client_secret"))
        .ok_or(AadError::MissingSecret)?;
    if secret != t.client_secret {
        return Err(AadError::WrongSecret(t.client_id.clone()));
    }
    let token = access_token(&t.tenant_id, &t.client_id);
    lock(&sim.tokens).remember(token.clone());
    Ok(token)
}

/// Client credentials need exactly one `<resource>/.default` scope, and the resource must be
/// Microsoft Graph.
fn check_scope(scope: Option<&str>, tenant: &str) -> Result<(), AadError> {
    let scope = scope.ok_or(AadError::MissingScope)?;
    let scopes: Vec<&str> = scope.split_whitespace().collect();
    let [only] = scopes.as_slice() else {
        return Err(if scopes.iter().all(|s| s.ends_with("/.default")) {
            AadError::InvalidScope
        } else {
            AadError::ScopeNotDefault(scope.to_owned())
        });
    };
    let Some(resource) = only.strip_suffix("/.default") else {
        return Err(AadError::ScopeNotDefault(scope.to_owned()));
    };
    let resource = resource.trim_end_matches('/');
    if GRAPH_RESOURCES
        .iter()
        .any(|r| r.eq_ignore_ascii_case(resource))
    {
        Ok(())
    } else {
        Err(AadError::UnknownResource {
            resource: resource.to_owned(),
            tenant: tenant.to_owned(),
        })
    }
}

/// A JWT-shaped token with the claims a Graph app-only token carries. Only its presence in the
/// token store matters to the simulator; the shape keeps clients that peek at claims happy.
fn access_token(tenant: &str, client: &str) -> String {
    let now = chrono::Utc::now().timestamp();
    let lifetime = i64::try_from(TOKEN_LIFETIME_SECS).unwrap_or(3599);
    let header = json!({"typ": "JWT", "alg": "RS256", "kid": "dirsim"});
    let claims = json!({
        "aud": "https://graph.microsoft.com",
        "iss": format!("https://sts.windows.net/{tenant}/"),
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
        "appid": client,
        "idtyp": "app",
        "roles": ["User.Read.All", "Group.Read.All", "GroupMember.Read.All"],
        "tid": tenant,
        "uti": uuid::Uuid::new_v4().simple().to_string(),
    });
    let part = |v: &serde_json::Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let signature = URL_SAFE_NO_PAD.encode(uuid::Uuid::new_v4().as_bytes());
    format!("{}.{}.{signature}", part(&header), part(&claims))
}

/// `client_secret_basic`: id and secret form-encoded, then Basic (RFC 6749 section 2.3.1).
fn client_basic(headers: &HeaderMap) -> Option<(String, String)> {
    let (u, p) = basic_credentials(headers)?;
    Some((percent_decode(&u, true), percent_decode(&p, true)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes() {
        assert_eq!(
            check_scope(Some("https://graph.microsoft.com/.default"), "t"),
            Ok(())
        );
        assert_eq!(
            check_scope(Some("00000003-0000-0000-c000-000000000000/.default"), "t"),
            Ok(())
        );
        assert_eq!(check_scope(None, "t"), Err(AadError::MissingScope));
        assert!(matches!(
            check_scope(Some("User.Read"), "t"),
            Err(AadError::ScopeNotDefault(_))
        ));
        assert!(matches!(
            check_scope(Some("https://vault.azure.net/.default"), "t"),
            Err(AadError::UnknownResource { .. })
        ));
        assert_eq!(
            check_scope(Some("a/.default b/.default"), "t"),
            Err(AadError::InvalidScope)
        );
    }
}
