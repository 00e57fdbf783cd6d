//! Microsoft Graph and the Entra token endpoint as a third-party client sees them: statuses,
//! headers, content types, OData envelopes and paging, AAD and Graph error bodies.

mod support;

use directory_sim::{DirectorySim, GRAPH_JSON, Person};
use reqwest::{Client, Response, header};
use serde_json::Value;
use support::{graph_token, sim, token_url};

const WWW_AUTH: &str = "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\"";

/// A client holding a token, speaking raw HTTP to Graph.
struct Graph<'a> {
    sim: &'a DirectorySim,
    http: Client,
    token: String,
}

impl<'a> Graph<'a> {
    async fn new(sim: &'a DirectorySim) -> Self {
        let http = Client::new();
        let token = graph_token(sim, &http).await;
        Self { sim, http, token }
    }

    async fn get(&self, path: &str) -> Response {
        self.get_url(&format!("{}{path}", self.sim.graph.base_url))
            .await
    }

    async fn get_url(&self, url: &str) -> Response {
        self.http
            .get(url)
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("request")
    }

    async fn ok(&self, path: &str) -> Value {
        success(self.get(path).await).await
    }
}

fn header_of<'r>(resp: &'r Response, name: &str) -> Option<&'r str> {
    resp.headers().get(name).and_then(|v| v.to_str().ok())
}

fn is_guid(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok() && s.len() == 36
}

/// A 200 with Graph's content type, OData-Version and request ids.
async fn success(resp: Response) -> Value {
    assert_eq!(resp.status(), 200, "status");
    assert_eq!(header_of(&resp, "content-type"), Some(GRAPH_JSON));
    assert_eq!(header_of(&resp, "odata-version"), Some("4.0"));
    assert!(header_of(&resp, "request-id").is_some_and(is_guid));
    resp.json().await.expect("JSON body")
}

/// A Graph error: status, the envelope with code, message and innerError, and the ids.
async fn graph_error(resp: Response, status: u16, code: &str) -> Value {
    assert_eq!(resp.status().as_u16(), status, "status");
    assert_eq!(header_of(&resp, "content-type"), Some(GRAPH_JSON));
    let request_id = header_of(&resp, "request-id").map(str::to_owned);
    assert!(request_id.as_deref().is_some_and(is_guid));
    let body: Value = resp.json().await.expect("JSON error body");
    let e = &body["error"];
    assert_eq!(e["code"], code, "{body}");
    assert!(e["message"].is_string(), "{body}");
    let inner = &e["innerError"];
    assert_eq!(inner["request-id"].as_str(), request_id.as_deref());
    assert!(inner["client-request-id"].as_str().is_some_and(is_guid));
    let date = inner["date"].as_str().unwrap_or_default();
    assert!(
        chrono::NaiveDateTime::parse_from_str(date, "%Y-%m-%dT%H:%M:%S").is_ok(),
        "innerError.date without fraction or zone: {date}"
    );
    body
}

fn message(body: &Value) -> &str {
    body["error"]["message"].as_str().unwrap_or_default()
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    k.sort();
    k
}

fn sorted(items: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = items.iter().map(|s| (*s).to_owned()).collect();
    v.sort();
    v
}

// ---- token endpoint ---------------------------------------------------------------------------

#[tokio::test]
async fn token_is_issued_for_the_tenant_id_and_its_domain() {
    let sim = sim().await;
    let http = Client::new();
    for tenant in [
        sim.graph.tenant_id.clone(),
        "example.onmicrosoft.com".into(),
    ] {
        let resp = http
            .post(token_url(&sim, &tenant))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", &sim.graph.client_id),
                ("client_secret", &sim.graph.client_secret),
                ("scope", "https://graph.microsoft.com/.default"),
            ])
            .send()
            .await
            .expect("token");
        assert_eq!(resp.status(), 200);
        assert_eq!(
            header_of(&resp, "content-type"),
            Some("application/json; charset=utf-8")
        );
        let body: Value = resp.json().await.expect("json");
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 3599);
        assert_eq!(body["ext_expires_in"], 3599);
        let token = body["access_token"].as_str().unwrap_or_default();
        assert_eq!(token.split('.').count(), 3, "JWT-shaped: {token}");
    }
    sim.shutdown().await;
}

/// Posts a token form and checks Entra's error shape; returns the body.
async fn token_error(
    sim: &DirectorySim,
    tenant: &str,
    form: &[(&str, &str)],
    status: u16,
    error: &str,
    code: u64,
) -> Value {
    let resp = Client::new()
        .post(token_url(sim, tenant))
        .header("client-request-id", "2f0d6f5e-93f4-4a4c-9b0e-6a4a8f1f0c11")
        .form(form)
        .send()
        .await
        .expect("token request");
    assert_eq!(resp.status().as_u16(), status, "{error}");
    assert_eq!(
        header_of(&resp, "content-type"),
        Some("application/json; charset=utf-8")
    );
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["error"], error, "{body}");
    assert_eq!(body["error_codes"], serde_json::json!([code]), "{body}");
    let description = body["error_description"].as_str().unwrap_or_default();
    assert!(
        description.starts_with(&format!("AADSTS{code}: ")),
        "{description}"
    );
    assert!(description.contains("\r\nTrace ID: "), "{description}");
    assert!(
        description.contains("\r\nCorrelation ID: "),
        "{description}"
    );
    assert!(description.contains("\r\nTimestamp: "), "{description}");
    assert!(body["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')));
    assert!(body["trace_id"].as_str().is_some_and(is_guid));
    assert_eq!(
        body["correlation_id"], "2f0d6f5e-93f4-4a4c-9b0e-6a4a8f1f0c11",
        "the caller's client-request-id is the correlation id"
    );
    body
}

#[tokio::test]
async fn token_errors_have_entra_codes_and_shape() {
    let sim = sim().await;
    let tid = sim.graph.tenant_id.clone();
    let id = sim.graph.client_id.clone();
    let secret = sim.graph.client_secret.clone();
    let scope = "https://graph.microsoft.com/.default";
    let cc = "client_credentials";
    let form = |grant: &'static str, client: &str, secret: &str, scope: &str| {
        let mut f: Vec<(&'static str, String)> = Vec::new();
        if !grant.is_empty() {
            f.push(("grant_type", grant.into()));
        }
        f.push(("client_id", client.into()));
        if !secret.is_empty() {
            f.push(("client_secret", secret.into()));
        }
        if !scope.is_empty() {
            f.push(("scope", scope.into()));
        }
        f
    };
    let check = async |tenant: &str, f: Vec<(&'static str, String)>, status, error, code| {
        let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
        token_error(&sim, tenant, &pairs, status, error, code).await
    };
    let body = check(
        &tid,
        form(cc, &id, "wrong", scope),
        401,
        "invalid_client",
        7000215,
    )
    .await;
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| d.contains("Invalid client secret provided"))
    );
    check(
        &tid,
        form(cc, &id, "", scope),
        401,
        "invalid_client",
        7000218,
    )
    .await;
    check(
        &tid,
        form(cc, "11111111-2222-3333-4444-555555555555", &secret, scope),
        400,
        "unauthorized_client",
        700016,
    )
    .await;
    check(
        &tid,
        form("password", &id, &secret, scope),
        400,
        "unsupported_grant_type",
        70003,
    )
    .await;
    check(
        &tid,
        form("", &id, &secret, scope),
        400,
        "invalid_request",
        900144,
    )
    .await;
    check(
        &tid,
        form(cc, &id, &secret, "User.Read"),
        400,
        "invalid_scope",
        1002012,
    )
    .await;
    check(
        &tid,
        form(cc, &id, &secret, ""),
        400,
        "invalid_request",
        90014,
    )
    .await;
    check(
        &tid,
        form(cc, &id, &secret, "https://vault.azure.net/.default"),
        400,
        "invalid_resource",
        500011,
    )
    .await;
    check(
        "contoso.onmicrosoft.com",
        form(cc, &id, &secret, scope),
        400,
        "invalid_request",
        90002,
    )
    .await;
    sim.shutdown().await;
}

#[tokio::test]
async fn token_accepts_client_secret_basic_and_refuses_get() {
    let sim = sim().await;
    let http = Client::new();
    let resp = http
        .post(token_url(&sim, &sim.graph.tenant_id))
        .basic_auth(&sim.graph.client_id, Some(&sim.graph.client_secret))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .send()
        .await
        .expect("token");
    assert_eq!(resp.status(), 200);
    let resp = http
        .get(token_url(&sim, &sim.graph.tenant_id))
        .send()
        .await
        .expect("get");
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["error_codes"], serde_json::json!([900561]));
    sim.shutdown().await;
}

// ---- users ------------------------------------------------------------------------------------

#[tokio::test]
async fn user_by_id_and_by_upn_has_the_default_properties() {
    let sim = sim().await;
    let g = Graph::new(&sim).await;
    let id = sim.graph_id("rchen").expect("seeded");
    let by_id = g.ok(&format!("/users/{id}")).await;
    let by_upn = g.ok("/users/RChen@Example.com").await;
    let by_escaped_upn = g.ok("/users/rchen%40example.com").await;
    assert_eq!(by_id, by_upn);
    assert_eq!(by_id, by_escaped_upn);
    assert_eq!(
        by_id["@odata.context"],
        "https://graph.microsoft.com/v1.0/$metadata#users/$entity"
    );
    assert_eq!(
        keys(&by_id),
        sorted(&[
            "@odata.context",
            "businessPhones",
            "displayName",
            "givenName",
            "jobTitle",
            "mail",
            "mobilePhone",
            "officeLocation",
            "preferredLanguage",
            "surname",
            "userPrincipalName",
            "id",
        ])
    );
    assert_eq!(by_id["id"], id.as_str());
    assert_eq!(by_id["displayName"], "Rachel Chen");
    assert_eq!(by_id["givenName"], "Rachel");
    assert_eq!(by_id["surname"], "Chen");
    assert_eq!(by_id["userPrincipalName"], "rchen@example.com");
    assert_eq!(by_id["officeLocation"], "Seattle HQ");
    assert_eq!(by_id["businessPhones"], serde_json::json!([]));
    assert_eq!(by_id["mobilePhone"], Value::Null);
    sim.shutdown().await;
}

#[tokio::test]
async fn select_narrows_case_insensitively_and_names_the_context() {
    let sim = sim().await;
    let g = Graph::new(&sim).await;
    let id = sim.graph_id("rchen").expect("seeded");
    let body = g
        .ok(&format!(
            "/users/{id}?$select=DISPLAYNAME,department,accountEnabled,usageLocation,onPremisesSamAccountName,employeeType,country"
        ))
        .await;
    assert_eq!(
        body["@odata.context"],
        "https://graph.microsoft.com/v1.0/$metadata#users(displayName,department,accountEnabled,usageLocation,onPremisesSamAccountName,employeeType,country)/$entity"
    );
    assert_eq!(
        keys(&body),
        sorted(&[
            "@odata.context",
            "displayName",
            "department",
            "accountEnabled",
            "usageLocation",
            "onPremisesSamAccountName",
            "employeeType",
            "country",
        ])
    );
    assert_eq!(body["department"], "Engineering");
    assert_eq!(body["accountEnabled"], true);
    assert_eq!(body["usageLocation"], "US");
    assert_eq!(body["onPremisesSamAccountName"], "rchen");
    assert_eq!(body["employeeType"], "Full-time");

    // Empty strings are null in Graph.
    let nomgr = sim.graph_id("nomgr").expect("seeded");
    let body = g
        .ok(&format!(
            "/users/{nomgr}?$select=givenName,department,jobTitle"
        ))
        .await;
    assert_eq!(body["givenName"], Value::Null);
    assert_eq!(body["department"], Value::Null);
    sim.shutdown().await;
}

#[tokio::test]
async fn every_response_carries_request_ids() {
    let sim = sim().await;
    let g = Graph::new(&sim).await;
    let url = format!("{}/users/rchen@example.com", sim.graph.base_url);
    let sent = "7d3b1c2a-0000-4000-8000-00000000abcd";
    let resp = g
        .http
        .get(&url)
        .bearer_auth(&g.token)
        .header("client-request-id", sent)
        .send()
        .await
        .expect("get");
    assert_eq!(header_of(&resp, "client-request-id"), Some(sent));
    assert_ne!(header_of(&resp, "request-id"), Some(sent));
    success(resp).await;

    let resp = g.get_url(&url).await;
    let rid = header_of(&resp, "request-id").map(str::to_owned);
    assert!(rid.as_deref().is_some_and(is_guid));
    assert_eq!(header_of(&resp, "client-request-id"), rid.as_deref());

    // Errors too, with the echoed id inside innerError.
    let resp = g
        .http
        .get(format!("{}/users/nobody@example.com", sim.graph.base_url))
        .bearer_auth(&g.token)
        .header("client-request-id", sent)
        .send()
        .await
        .expect("get");
    assert_eq!(header_of(&resp, "client-request-id"), Some(sent));
    let body = graph_error(resp, 404, "Request_ResourceNotFound").await;
    assert_eq!(body["error"]["innerError"]["client-request-id"], sent);
    sim.shutdown().await;
}

#[tokio::test]
async fn missing_invalid_and_expired_tokens_are_401_with_a_challenge() {
    let sim = sim().await;
    let g = Graph::new(&sim).await;
    let url = format!("{}/users/rchen@example.com", sim.graph.base_url);
    let cases = [
        (None, "Access token is empty."),
        (
            Some("not-a-token"),
            "Access token validation failure. Invalid audience.",
        ),
    ];
    for (token, expected) in cases {
        let mut req = g.http.get(&url);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.expect("get");
        assert_eq!(header_of(&resp, "www-authenticate"), Some(WWW_AUTH));
        let body = graph_error(resp, 401, "InvalidAuthenticationToken").await;
        assert_eq!(message(&body), expected);
    }
    assert_eq!(g.get_url(&url).await.status(), 200);
    sim.expire_tokens();
    let resp = g.get_url(&url).await;
    assert_eq!(header_of(&resp, "www-authenticate"), Some(WWW_AUTH));
    let body = graph_error(resp, 401, "InvalidAuthenticationToken").await;
    assert_eq!(
        message(&body),
        "Lifetime validation failed, the token is expired."
    );
    // A fresh token works again.
    let fresh = Graph::new(&sim).await;
    assert_eq!(fresh.get_url(&url).await.status(), 200);
    sim.shutdown().await;
}

#[tokio::test]
async fn unknown_user_is_404_resource_not_found() {
    let sim = sim().await;
    let g = Graph::new(&sim).await;
    let missing = "00000000-1111-4222-8333-444444444444";
    let body = graph_error(
        g.get(&format!("/users/{missing}")).await,
        404,
        "Request_ResourceNotFound",
    )
    .await;
    assert_eq!(
        message(&body),
        format!(
            "Resource '{missing}' does not exist or one of its queried reference-property objects are not present."
        )
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn bad_query_options_are_400() {
    let sim = sim().await;
    let g = Graph::new(&sim).await;
    let body = graph_error(
        g.get("/users/rchen@example.com?$select=displayName,shoeSize")
            .await,
        400,
        "Request_BadRequest",
    )
    .await;
    assert_eq!(
        message(&body),
        "Could not find a property named 'shoeSize' on type 'microsoft.graph.user'."
    );
    for top in ["0", "1000", "abc"] {
        graph_error(
            g.get(&format!("/users?$top={top}")).await,
            400,
            "Request_BadRequest",
        )
        .await;
    }
    graph_error(
        g.get("/users?$skiptoken=bogus").await,
        400,
        "Directory_ExpiredPageToken",
    )
    .await;
    sim.shutdown().await;
}

#[tokio::test]
async fn manager_is_a_user_object_and_404_when_there_is_none() {
    let sim = sim().await;
    let g = Graph::new(&sim).await;
    let body = g.ok("/users/rchen@example.com/manager").await;
    assert_eq!(body["@odata.type"], "#microsoft.graph.user");
    assert_eq!(
        body["id"],
        sim.graph_id("amiller").expect("seeded").as_str()
    );
    assert_eq!(body["userPrincipalName"], "amiller@example.com");
    let body = g
        .ok("/users/rchen@example.com/manager?$select=mail,onPremisesSamAccountName")
        .await;
    assert_eq!(body["onPremisesSamAccountName"], "amiller");
    assert_eq!(
        keys(&body),
        sorted(&[
            "@odata.context",
            "@odata.type",
            "mail",
            "onPremisesSamAccountName"
        ])
    );

    let body = graph_error(
        g.get("/users/amiller@example.com/manager").await,
        404,
        "Request_ResourceNotFound",
    )
    .await;
    assert!(message(&body).starts_with("Resource 'manager' does not exist"));
    sim.shutdown().await;
}

/// Follows `@odata.nextLink` from `first` to the end; returns every page.
async fn all_pages(g: &Graph<'_>, first: &str) -> Vec<Value> {
    let mut pages = vec![g.ok(first).await];
    while let Some(next) = pages
        .last()
        .and_then(|p| p["@odata.nextLink"].as_str())
        .map(str::to_owned)
    {
        assert!(next.starts_with(&g.sim.graph.base_url), "absolute: {next}");
        assert!(next.contains("$skiptoken="), "{next}");
        assert!(pages.len() < 20, "paging ends");
        pages.push(success(g.get_url(&next).await).await);
    }
    pages
}

fn names(pages: &[Value], field: &str) -> Vec<String> {
    pages
        .iter()
        .flat_map(|p| p["value"].as_array().cloned().unwrap_or_default())
        .map(|v| v[field].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn member_of_pages_with_top_and_next_link() {
    let sim = sim().await;
    let g = Graph::new(&sim).await;
    let id = sim.graph_id("rchen").expect("seeded");
    let pages = all_pages(&g, &format!("/users/{id}/memberOf?$top=2")).await;
    assert_eq!(pages.len(), 3);
    assert!(pages[2].get("@odata.nextLink").is_none());
    assert_eq!(
        pages[0]["@odata.context"],
        "https://graph.microsoft.com/v1.0/$metadata#directoryObjects"
    );
    assert_eq!(
        names(&pages, "displayName"),
        [
            "All Staff",
            "Engineering",
            "VPN Users",
            "GitHub Users",
            "Laptop-Mac"
        ]
    );
    let first = &pages[0]["value"][0];
    assert_eq!(first["@odata.type"], "#microsoft.graph.group");
    assert_eq!(
        first["id"],
        sim.graph_group_id("All Staff").expect("group").as_str()
    );

    // The cast, with $select kept across pages.
    let pages = all_pages(
        &g,
        &format!("/users/{id}/memberOf/microsoft.graph.group?$select=id,displayName&$top=2"),
    )
    .await;
    assert_eq!(pages.len(), 3);
    assert_eq!(
        pages[1]["@odata.context"],
        "https://graph.microsoft.com/v1.0/$metadata#groups(id,displayName)"
    );
    for item in pages
        .iter()
        .flat_map(|p| p["value"].as_array().cloned().unwrap_or_default())
    {
        assert_eq!(keys(&item), sorted(&["id", "displayName"]));
    }
    // Default page size holds all five: no nextLink.
    let one = g.ok(&format!("/users/{id}/memberOf")).await;
    assert_eq!(one["value"].as_array().map(Vec::len), Some(5));
    assert!(one.get("@odata.nextLink").is_none());
    sim.shutdown().await;
}

#[tokio::test]
async fn groups_and_members_follow_updates() {
    let sim = sim().await;
    let g = Graph::new(&sim).await;
    let eng = sim.graph_group_id("Engineering").expect("group");
    let group = g.ok(&format!("/groups/{eng}")).await;
    assert_eq!(
        group["@odata.context"],
        "https://graph.microsoft.com/v1.0/$metadata#groups/$entity"
    );
    assert_eq!(group["displayName"], "Engineering");
    assert_eq!(group["securityEnabled"], true);
    let members = all_pages(&g, &format!("/groups/{eng}/members?$top=1")).await;
    assert_eq!(
        names(&members, "userPrincipalName"),
        ["rchen@example.com", "jobrien@example.com"]
    );
    assert_eq!(
        members.len(),
        2,
        "two members, one a page, no empty third page"
    );
    assert_eq!(
        members[0]["value"][0]["@odata.type"],
        "#microsoft.graph.user"
    );

    assert!(sim.update("rchen", |p| p.groups.retain(|g| g != "Engineering")));
    let cast = g
        .ok(&format!(
            "/groups/{eng}/members/microsoft.graph.user?$select=onPremisesSamAccountName"
        ))
        .await;
    assert_eq!(
        cast["@odata.context"],
        "https://graph.microsoft.com/v1.0/$metadata#users(onPremisesSamAccountName)"
    );
    assert_eq!(names(&[cast], "onPremisesSamAccountName"), ["jobrien"]);

    graph_error(
        g.get("/groups/00000000-0000-4000-8000-000000000000").await,
        404,
        "Request_ResourceNotFound",
    )
    .await;
    graph_error(
        g.get(&format!("/groups/{eng}?$select=nope")).await,
        400,
        "Request_BadRequest",
    )
    .await;
    sim.shutdown().await;
}

#[tokio::test]
async fn users_list_pages_and_filters() {
    let sim = sim().await;
    let g = Graph::new(&sim).await;
    let pages = all_pages(&g, "/users?$select=userPrincipalName,accountEnabled&$top=2").await;
    assert_eq!(pages.len(), 3);
    assert_eq!(
        pages[0]["@odata.context"],
        "https://graph.microsoft.com/v1.0/$metadata#users(userPrincipalName,accountEnabled)"
    );
    let upns = names(&pages, "userPrincipalName");
    assert_eq!(upns.len(), 5);
    assert_eq!(upns[0], "amiller@example.com");
    let disabled: Vec<&Value> = pages
        .iter()
        .flat_map(|p| p["value"].as_array().into_iter().flatten())
        .filter(|u| u["accountEnabled"] == false)
        .collect();
    assert_eq!(disabled.len(), 1, "kgone is disabled, still listed");

    // A last page that is exactly full has no nextLink.
    let exact = g.ok("/users?$top=5").await;
    assert_eq!(exact["value"].as_array().map(Vec::len), Some(5));
    assert!(exact.get("@odata.nextLink").is_none());

    let found = g
        .ok("/users?$filter=onPremisesSamAccountName%20eq%20'rchen'&$select=id")
        .await;
    assert_eq!(
        found["value"][0]["id"],
        sim.graph_id("rchen").expect("seeded").as_str()
    );
    assert_eq!(found["value"].as_array().map(Vec::len), Some(1));
    graph_error(
        g.get("/users?$filter=startswith(displayName,'R')").await,
        400,
        "Request_UnsupportedQuery",
    )
    .await;
    sim.shutdown().await;
}

#[tokio::test]
async fn fail_next_throttles_both_statuses_with_retry_after_but_not_tokens() {
    let sim = sim().await;
    let http = Client::new();
    sim.fail_next(1, 429);
    // The token call is not counted.
    let token = graph_token(&sim, &http).await;
    let g = Graph {
        sim: &sim,
        http,
        token,
    };
    let resp = g.get("/users/rchen@example.com").await;
    assert_eq!(header_of(&resp, "retry-after"), Some("1"));
    let body = graph_error(resp, 429, "TooManyRequests").await;
    assert_eq!(message(&body), "Too many requests.");
    assert_eq!(g.get("/users/rchen@example.com").await.status(), 200);

    sim.fail_next(2, 503);
    for _ in 0..2 {
        let resp = g.get("/users/rchen@example.com").await;
        assert_eq!(header_of(&resp, "retry-after"), Some("1"));
        graph_error(resp, 503, "serviceNotAvailable").await;
    }
    assert_eq!(g.get("/users/rchen@example.com").await.status(), 200);
    sim.shutdown().await;
}

#[tokio::test]
async fn writes_are_405_and_unknown_segments_400() {
    let sim = sim().await;
    let g = Graph::new(&sim).await;
    let url = format!("{}/users/rchen@example.com", sim.graph.base_url);
    for method in [
        reqwest::Method::POST,
        reqwest::Method::PATCH,
        reqwest::Method::DELETE,
    ] {
        let resp = g
            .http
            .request(method, &url)
            .bearer_auth(&g.token)
            .header(header::CONTENT_TYPE, "application/json")
            .body("{}")
            .send()
            .await
            .expect("send");
        let body = graph_error(resp, 405, "Request_BadRequest").await;
        assert_eq!(
            message(&body),
            "Specified HTTP method is not allowed for the request uri."
        );
    }
    let body = graph_error(g.get("/devices").await, 400, "BadRequest").await;
    assert_eq!(
        message(&body),
        "Resource not found for the segment 'devices'."
    );
    let body = graph_error(
        g.get("/users/rchen@example.com/photos").await,
        400,
        "BadRequest",
    )
    .await;
    assert_eq!(
        message(&body),
        "Resource not found for the segment 'photos'."
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn deletes_hires_and_the_call_log() {
    let sim = sim().await;
    let g = Graph::new(&sim).await;
    let id = sim.graph_id("rchen").expect("seeded");
    assert!(sim.delete_from_graph("rchen"));
    assert!(!sim.delete_from_graph("rchen"));
    graph_error(
        g.get(&format!("/users/{id}")).await,
        404,
        "Request_ResourceNotFound",
    )
    .await;
    // Gone from group membership too.
    let eng = sim.graph_group_id("Engineering").expect("group");
    let members = g.ok(&format!("/groups/{eng}/members")).await;
    assert_eq!(
        names(&[members], "userPrincipalName"),
        ["jobrien@example.com"]
    );

    let mut hire = Person::new("nhire", "nhire@example.com");
    hire.manager = Some("amiller".into());
    hire.groups = vec!["New Hires".into()];
    sim.add(hire);
    let nid = sim.graph_id("nhire").expect("hired");
    assert_eq!(g.ok(&format!("/users/{nid}")).await["id"], nid.as_str());
    let mgr = g.ok(&format!("/users/{nid}/manager")).await;
    assert_eq!(mgr["userPrincipalName"], "amiller@example.com");
    assert!(sim.graph_group_id("New Hires").is_some());
    assert_eq!(sim.bamboo_id("nhire").as_deref(), Some("106"));

    let calls = sim.calls();
    assert!(
        calls.contains(&format!("GET /v1.0/users/{id}")),
        "{calls:?}"
    );
    assert!(
        calls
            .iter()
            .any(|c| c.starts_with("POST /") && c.ends_with("/oauth2/v2.0/token"))
    );
    assert!(
        calls.iter().all(|c| !c.contains('?')),
        "no query: {calls:?}"
    );
    sim.shutdown().await;
}
