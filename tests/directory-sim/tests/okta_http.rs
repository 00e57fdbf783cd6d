//! The Okta Users API as a third-party client sees it: SSWS auth, user and group objects, Okta's
//! error objects, `Link` paging, and the request-id and rate-limit headers.

mod support;

use directory_sim::{DirectorySim, OKTA_JSON};
use reqwest::{Client, RequestBuilder, Response};
use serde_json::Value;
use support::sim;

/// A client holding the org's API token, speaking raw HTTP to Okta.
struct Okta<'a> {
    sim: &'a DirectorySim,
    http: Client,
}

impl<'a> Okta<'a> {
    fn new(sim: &'a DirectorySim) -> Self {
        Self {
            sim,
            http: Client::new(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sim.okta.org_url)
    }

    fn ssws(&self, req: RequestBuilder) -> RequestBuilder {
        req.header("Authorization", format!("SSWS {}", self.sim.okta.api_token))
            .header("Accept", "application/json")
    }

    async fn get(&self, path: &str) -> Response {
        self.get_url(&self.url(path)).await
    }

    async fn get_url(&self, url: &str) -> Response {
        self.ssws(self.http.get(url)).send().await.expect("request")
    }

    async fn ok(&self, path: &str) -> Value {
        success(self.get(path).await).await
    }

    /// Every item of a paged collection, following `rel="next"` to the end; also the number of
    /// pages.
    async fn all(&self, path: &str) -> (Vec<Value>, usize) {
        let mut url = self.url(path);
        let mut items = Vec::new();
        let mut pages = 0;
        loop {
            let resp = self.get_url(&url).await;
            let (links_self, next) = (link(&resp, "self"), link(&resp, "next"));
            assert!(links_self.is_some(), "every page links itself");
            let body = success(resp).await;
            items.extend(body.as_array().expect("a JSON array").iter().cloned());
            pages += 1;
            assert!(pages < 50, "paging must end");
            match next {
                Some(n) => url = n,
                None => return (items, pages),
            }
        }
    }
}

fn header_of<'r>(resp: &'r Response, name: &str) -> Option<&'r str> {
    resp.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The URL of the `Link` header with this `rel`, from any of the `Link` headers.
fn link(resp: &Response, rel: &str) -> Option<String> {
    let wanted = format!("rel=\"{rel}\"");
    resp.headers()
        .get_all("link")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find(|l| l.split(';').skip(1).any(|p| p.trim() == wanted))
        .and_then(|l| {
            let l = l.trim();
            Some(l.strip_prefix('<')?.split_once('>')?.0.to_owned())
        })
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The headers every Okta response has: JSON, a request id, and the rate-limit trio.
fn common_headers(resp: &Response) {
    assert_eq!(header_of(resp, "content-type"), Some(OKTA_JSON));
    let rid = header_of(resp, "x-okta-request-id").unwrap_or_default();
    assert!(
        rid.len() >= 20 && rid.chars().all(|c| c.is_ascii_alphanumeric()),
        "request id: {rid}"
    );
    let num = |h: &str| header_of(resp, h).and_then(|v| v.parse::<i64>().ok());
    let limit = num("x-rate-limit-limit").expect("X-Rate-Limit-Limit");
    let remaining = num("x-rate-limit-remaining").expect("X-Rate-Limit-Remaining");
    let reset = num("x-rate-limit-reset").expect("X-Rate-Limit-Reset");
    assert!(limit > 0 && (0..=limit).contains(&remaining));
    assert!(
        reset > now() - 2 && reset <= now() + 61,
        "reset in epoch seconds within the minute: {reset}"
    );
}

async fn success(resp: Response) -> Value {
    assert_eq!(resp.status(), 200, "status");
    common_headers(&resp);
    resp.json().await.expect("JSON body")
}

/// An Okta error object with this status and code; returns the body.
async fn okta_error(resp: Response, status: u16, code: &str) -> Value {
    assert_eq!(resp.status().as_u16(), status, "status");
    common_headers(&resp);
    let body: Value = resp.json().await.expect("JSON error body");
    assert_eq!(body["errorCode"], code, "{body}");
    assert_eq!(body["errorLink"], code, "{body}");
    assert!(body["errorSummary"].is_string(), "{body}");
    let id = body["errorId"].as_str().unwrap_or_default();
    assert!(id.starts_with("oae") && id.len() > 10, "{body}");
    assert!(body["errorCauses"].is_array(), "{body}");
    body
}

fn summary(body: &Value) -> &str {
    body["errorSummary"].as_str().unwrap_or_default()
}

fn id_of(sim: &DirectorySim, user_name: &str) -> String {
    sim.okta_id(user_name).expect("seeded")
}

fn names(groups: &[Value]) -> Vec<String> {
    let mut n: Vec<String> = groups
        .iter()
        .map(|g| g["profile"]["name"].as_str().unwrap_or_default().to_owned())
        .collect();
    n.sort();
    n
}

fn logins(users: &[Value]) -> Vec<String> {
    let mut n: Vec<String> = users
        .iter()
        .map(|u| {
            u["profile"]["login"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    n.sort();
    n
}

// ---- auth -------------------------------------------------------------------------------------

#[tokio::test]
async fn ssws_and_bearer_tokens_are_accepted_anything_else_is_401() {
    let sim = sim().await;
    let o = Okta::new(&sim);
    let id = id_of(&sim, "rchen");
    let path = format!("/api/v1/users/{id}");
    assert_eq!(o.ok(&path).await["id"], id);
    let bearer = o
        .http
        .get(o.url(&path))
        .bearer_auth(&sim.okta.api_token)
        .send()
        .await
        .expect("request");
    assert_eq!(bearer.status(), 200);

    let bad: [Option<String>; 4] = [
        None,
        Some("SSWS not-the-token".into()),
        Some(format!("Basic {}", sim.okta.api_token)),
        Some("SSWS".into()),
    ];
    for auth in bad {
        let mut req = o.http.get(o.url(&path));
        if let Some(a) = &auth {
            req = req.header("Authorization", a);
        }
        let resp = req.send().await.expect("request");
        let body = okta_error(resp, 401, "E0000011").await;
        assert_eq!(summary(&body), "Invalid token provided", "{auth:?}");
        assert_eq!(body["errorCauses"], serde_json::json!([]));
    }
    sim.shutdown().await;
}

// ---- users ------------------------------------------------------------------------------------

#[tokio::test]
async fn a_user_is_found_by_id_login_and_login_shortname() {
    let sim = sim().await;
    let o = Okta::new(&sim);
    let id = id_of(&sim, "rchen");
    assert_eq!(id.len(), 20);
    assert!(id.starts_with("00u") && id.chars().all(|c| c.is_ascii_alphanumeric()));
    for key in [
        id.as_str(),
        "rchen@example.com",
        "RChen@Example.com",
        "rchen",
    ] {
        let u = o.ok(&format!("/api/v1/users/{key}")).await;
        assert_eq!(u["id"], id, "{key}");
    }
    let encoded = o.ok("/api/v1/users/rchen%40example.com").await;
    assert_eq!(encoded["id"], id);
    sim.shutdown().await;
}

#[tokio::test]
async fn the_user_object_maps_the_person() {
    let sim = sim().await;
    let o = Okta::new(&sim);
    let id = id_of(&sim, "rchen");
    let u = o.ok(&format!("/api/v1/users/{id}")).await;
    assert_eq!(u["status"], "ACTIVE");
    for k in [
        "created",
        "activated",
        "statusChanged",
        "lastLogin",
        "lastUpdated",
        "passwordChanged",
    ] {
        let t = u[k].as_str().unwrap_or_default();
        assert!(
            chrono::DateTime::parse_from_rfc3339(t).is_ok() && t.ends_with(".000Z"),
            "{k}: {t}"
        );
    }
    assert!(
        u["type"]["id"]
            .as_str()
            .is_some_and(|t| t.starts_with("oty"))
    );
    assert_eq!(u["credentials"]["provider"]["type"], "OKTA");
    assert_eq!(u["credentials"]["provider"]["name"], "OKTA");
    assert_eq!(
        u["_links"]["self"]["href"],
        format!("{}/api/v1/users/{id}", sim.okta.org_url)
    );
    let p = &u["profile"];
    let expected = serde_json::json!({
        "firstName": "Rachel",
        "lastName": "Chen",
        "mobilePhone": null,
        "secondEmail": null,
        "login": "rchen@example.com",
        "email": "rchen@example.com",
        "department": "Engineering",
        "title": "Staff Engineer",
        "city": "Seattle HQ",
        "countryCode": "US",
        "employeeType": "Full-time",
        "employeeNumber": sim.bamboo_id("rchen").expect("seeded"),
        "manager": "Alex Miller",
        "managerId": id_of(&sim, "amiller"),
        "division": null,
        "organization": null,
    });
    assert_eq!(p, &expected);

    // Empty fields are null, not "".
    let n = o.ok("/api/v1/users/nomgr").await;
    for k in [
        "firstName",
        "lastName",
        "department",
        "title",
        "city",
        "countryCode",
        "employeeType",
        "manager",
        "managerId",
    ] {
        assert!(n["profile"][k].is_null(), "{k}: {}", n["profile"]);
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn country_codes_are_iso_alpha2() {
    let sim = sim().await;
    let o = Okta::new(&sim);
    for (country, code) in [
        ("United Kingdom", Value::from("GB")),
        ("Germany", Value::from("DE")),
        ("Singapore", Value::from("SG")),
        ("Atlantis", Value::Null),
    ] {
        assert!(sim.update("rchen", |p| p.country = country.into()));
        let u = o.ok("/api/v1/users/rchen").await;
        assert_eq!(u["profile"]["countryCode"], code, "{country}");
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn a_deactivated_user_is_deprovisioned_and_left_out_of_the_default_list() {
    let sim = sim().await;
    let o = Okta::new(&sim);
    let u = o
        .ok(&format!("/api/v1/users/{}", id_of(&sim, "kgone")))
        .await;
    assert_eq!(u["status"], "DEPROVISIONED");
    let (all, _) = o.all("/api/v1/users").await;
    assert!(!logins(&all).contains(&"kgone@example.com".to_owned()));
    let (gone, _) = o
        .all("/api/v1/users?filter=status%20eq%20%22DEPROVISIONED%22")
        .await;
    assert_eq!(logins(&gone), ["kgone@example.com"]);
    let (active, _) = o
        .all("/api/v1/users?filter=status+eq+%22ACTIVE%22&limit=1")
        .await;
    assert_eq!(active.len(), 4);
    sim.shutdown().await;
}

#[tokio::test]
async fn an_unknown_user_is_404_with_okta_s_error_object() {
    let sim = sim().await;
    let o = Okta::new(&sim);
    let body = okta_error(
        o.get("/api/v1/users/00uNOBODY000000000000").await,
        404,
        "E0000007",
    )
    .await;
    assert_eq!(
        summary(&body),
        "Not found: Resource not found: 00uNOBODY000000000000 (User)"
    );
    assert_eq!(body["errorCauses"], serde_json::json!([]));
    okta_error(
        o.get("/api/v1/users/nobody@example.com/groups").await,
        404,
        "E0000007",
    )
    .await;
    let g = okta_error(o.get("/api/v1/groups/00gNOPE/users").await, 404, "E0000007").await;
    assert_eq!(
        summary(&g),
        "Not found: Resource not found: 00gNOPE (UserGroup)"
    );
    okta_error(o.get("/api/v1/apps").await, 404, "E0000007").await;
    sim.shutdown().await;
}

#[tokio::test]
async fn the_user_list_pages_by_link_next() {
    let sim = sim().await;
    let o = Okta::new(&sim);
    let first = o.get("/api/v1/users?limit=2").await;
    let next = link(&first, "next").expect("a next link");
    assert!(next.starts_with(&format!("{}/api/v1/users?", sim.okta.org_url)));
    assert!(
        next.contains("after=") && next.contains("limit=2"),
        "{next}"
    );
    assert_eq!(
        link(&first, "self").as_deref(),
        Some(format!("{}/api/v1/users?limit=2", sim.okta.org_url).as_str())
    );
    assert_eq!(success(first).await.as_array().map(Vec::len), Some(2));

    let (users, pages) = o.all("/api/v1/users?limit=2").await;
    assert_eq!(pages, 2);
    assert_eq!(
        logins(&users),
        [
            "amiller@example.com",
            "jobrien@example.com",
            "nomgr@example.com",
            "rchen@example.com"
        ]
    );
    let (one_page, pages) = o.all("/api/v1/users").await;
    assert_eq!((one_page.len(), pages), (4, 1));
    sim.shutdown().await;
}

#[tokio::test]
async fn unsupported_filters_are_400_invalid_search() {
    let sim = sim().await;
    let o = Okta::new(&sim);
    for f in [
        "lastUpdated%20gt%20%222024-01-01T00:00:00.000Z%22",
        "status%20eq%20%22ACTIVE%22%20or%20status%20eq%20%22STAGED%22",
        "nonsense",
    ] {
        let body = okta_error(
            o.get(&format!("/api/v1/users?filter={f}")).await,
            400,
            "E0000031",
        )
        .await;
        assert_eq!(summary(&body), "Invalid search criteria.");
    }
    let (by_login, _) = o
        .all("/api/v1/users?search=profile.login%20eq%20%22JOBRIEN@example.com%22")
        .await;
    assert_eq!(logins(&by_login), ["jobrien@example.com"]);
    sim.shutdown().await;
}

// ---- groups -----------------------------------------------------------------------------------

#[tokio::test]
async fn user_groups_include_everyone_and_page_to_the_end_with_limit_1() {
    let sim = sim().await;
    let o = Okta::new(&sim);
    let id = id_of(&sim, "rchen");
    let (groups, pages) = o.all(&format!("/api/v1/users/{id}/groups?limit=1")).await;
    assert_eq!(pages, 6);
    assert_eq!(
        names(&groups),
        [
            "All Staff",
            "Engineering",
            "Everyone",
            "GitHub Users",
            "Laptop-Mac",
            "VPN Users"
        ]
    );
    for g in &groups {
        let name = g["profile"]["name"].as_str().unwrap_or_default();
        let gid = g["id"].as_str().unwrap_or_default();
        assert_eq!(Some(gid.to_owned()), sim.okta_group_id(name));
        assert!(gid.starts_with("00g") && gid.len() == 20, "{gid}");
        assert_eq!(g["objectClass"], serde_json::json!(["okta:user_group"]));
        let kind = if name == "Everyone" {
            "BUILT_IN"
        } else {
            "OKTA_GROUP"
        };
        assert_eq!(g["type"], kind, "{name}");
        for k in ["created", "lastUpdated", "lastMembershipUpdated"] {
            assert!(g[k].is_string(), "{k}");
        }
        assert!(g["profile"].get("description").is_some());
        assert!(g["_links"].is_object());
    }
    let whole = o.get(&format!("/api/v1/users/{id}/groups")).await;
    assert!(link(&whole, "next").is_none());
    assert!(link(&whole, "self").is_some());
    assert_eq!(success(whole).await.as_array().map(Vec::len), Some(6));
    // By login too.
    let by_login = o.ok("/api/v1/users/amiller@example.com/groups").await;
    assert_eq!(
        names(by_login.as_array().expect("array")),
        ["All Staff", "Engineering Leads", "Everyone"]
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn group_users_and_group_objects() {
    let sim = sim().await;
    let o = Okta::new(&sim);
    let eng = sim.okta_group_id("Engineering").expect("a group");
    let g = o.ok(&format!("/api/v1/groups/{eng}")).await;
    assert_eq!(g["id"], eng);
    assert_eq!(g["profile"]["name"], "Engineering");
    assert_eq!(g["type"], "OKTA_GROUP");
    let (members, pages) = o.all(&format!("/api/v1/groups/{eng}/users?limit=1")).await;
    assert_eq!(pages, 2);
    assert_eq!(
        logins(&members),
        ["jobrien@example.com", "rchen@example.com"]
    );
    assert!(members.iter().all(|u| u["profile"].is_object()));

    let everyone = sim.okta_group_id("Everyone").expect("built in");
    let (all, _) = o.all(&format!("/api/v1/groups/{everyone}/users")).await;
    assert_eq!(all.len(), 5, "Everyone holds deactivated users too");
    let (groups, _) = o.all("/api/v1/groups?limit=2").await;
    assert!(names(&groups).contains(&"Everyone".to_owned()));
    assert_eq!(groups.len(), 7);
    assert_eq!(sim.okta_group_id("No Such Group"), None);
    sim.shutdown().await;
}

// ---- failures ---------------------------------------------------------------------------------

#[tokio::test]
async fn throttling_is_429_e0000047_with_a_reset_and_no_retry_after() {
    let sim = sim().await;
    let o = Okta::new(&sim);
    sim.fail_next(1, 429);
    let before = now();
    let resp = o.get("/api/v1/users/rchen").await;
    assert_eq!(header_of(&resp, "retry-after"), None);
    assert_eq!(header_of(&resp, "x-rate-limit-remaining"), Some("0"));
    let reset: i64 = header_of(&resp, "x-rate-limit-reset")
        .and_then(|v| v.parse().ok())
        .expect("reset");
    assert!(
        (before + 1..=now() + 1).contains(&reset),
        "reset is now + 1 s: {reset}"
    );
    let body = okta_error(resp, 429, "E0000047").await;
    assert_eq!(
        summary(&body),
        "API call exceeded rate limit due to too many requests."
    );
    assert_eq!(o.get("/api/v1/users/rchen").await.status(), 200);

    sim.fail_next(1, 503);
    let resp = o.get("/api/v1/users/rchen").await;
    assert_eq!(header_of(&resp, "retry-after"), Some("1"));
    assert_eq!(resp.status(), 503);
    assert_eq!(o.get("/api/v1/users/rchen").await.status(), 200);
    sim.shutdown().await;
}

#[tokio::test]
async fn remaining_counts_down_between_requests() {
    let sim = sim().await;
    let o = Okta::new(&sim);
    let remaining = |r: &Response| {
        header_of(r, "x-rate-limit-remaining")
            .and_then(|v| v.parse::<i64>().ok())
            .expect("remaining")
    };
    let a = o.get("/api/v1/users/rchen").await;
    let b = o.get("/api/v1/users/rchen").await;
    // The window may roll over between the two requests.
    assert!(remaining(&b) == remaining(&a) - 1 || remaining(&b) > remaining(&a));
    sim.shutdown().await;
}

#[tokio::test]
async fn writes_are_405_e0000022() {
    let sim = sim().await;
    let o = Okta::new(&sim);
    let id = id_of(&sim, "rchen");
    let url = o.url(&format!("/api/v1/users/{id}"));
    for req in [
        o.http.post(&url).json(&serde_json::json!({"profile": {}})),
        o.http.delete(&url),
        o.http.put(o.url("/api/v1/groups")),
    ] {
        let resp = o.ssws(req).send().await.expect("request");
        assert_eq!(header_of(&resp, "allow"), Some("GET"));
        let body = okta_error(resp, 405, "E0000022").await;
        assert_eq!(
            summary(&body),
            "The endpoint does not support the provided HTTP method"
        );
    }
    assert_eq!(o.get(&format!("/api/v1/users/{id}")).await.status(), 200);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_bad_limit_is_400_e0000001() {
    let sim = sim().await;
    let o = Okta::new(&sim);
    let id = id_of(&sim, "rchen");
    for limit in ["abc", "0", "-5", ""] {
        for path in [
            format!("/api/v1/users?limit={limit}"),
            format!("/api/v1/users/{id}/groups?limit={limit}"),
        ] {
            let body = okta_error(o.get(&path).await, 400, "E0000001").await;
            assert_eq!(summary(&body), "Api validation failed: limit", "{path}");
            assert!(
                body["errorCauses"][0]["errorSummary"]
                    .as_str()
                    .is_some_and(|c| c.starts_with("limit")),
                "{body}"
            );
        }
    }
    sim.shutdown().await;
}

// ---- changes made by tests --------------------------------------------------------------------

#[tokio::test]
async fn updates_deletions_and_rehires_are_seen() {
    let sim = sim().await;
    let o = Okta::new(&sim);
    let id = id_of(&sim, "rchen");
    let path = format!("/api/v1/users/{id}");
    assert!(sim.update("rchen", |p| {
        p.department = "Platform".into();
        p.groups.push("On Call".into());
    }));
    let u = o.ok(&path).await;
    assert_eq!(u["profile"]["department"], "Platform");
    let on_call = sim.okta_group_id("On Call").expect("learned");
    let (members, _) = o.all(&format!("/api/v1/groups/{on_call}/users")).await;
    assert_eq!(logins(&members), ["rchen@example.com"]);

    assert!(sim.update("rchen", |p| p.active = false));
    assert_eq!(o.ok(&path).await["status"], "DEPROVISIONED");

    assert!(sim.delete_from_okta("rchen"));
    assert!(!sim.delete_from_okta("rchen"));
    okta_error(o.get(&path).await, 404, "E0000007").await;
    okta_error(o.get("/api/v1/users/rchen").await, 404, "E0000007").await;
    let (members, _) = o.all(&format!("/api/v1/groups/{on_call}/users")).await;
    assert!(members.is_empty());
    // A rehire keeps the id.
    let mut rehired = directory_sim::Person::new("rchen", "rchen@example.com");
    rehired.first_name = "Rachel".into();
    sim.add(rehired);
    assert_eq!(sim.okta_id("rchen"), Some(id.clone()));
    let u = o.ok(&path).await;
    assert_eq!(u["status"], "ACTIVE");
    assert!(u["profile"]["department"].is_null());
    assert!(!sim.delete_from_okta("nobody"));
    sim.shutdown().await;
}

#[tokio::test]
async fn the_call_log_records_okta_requests_without_query() {
    let sim = sim().await;
    let o = Okta::new(&sim);
    let id = id_of(&sim, "rchen");
    o.ok(&format!("/api/v1/users/{id}")).await;
    o.ok(&format!("/api/v1/users/{id}/groups?limit=3")).await;
    let calls = sim.calls();
    assert!(
        calls.contains(&format!("GET /api/v1/users/{id}")),
        "{calls:?}"
    );
    assert!(
        calls.contains(&format!("GET /api/v1/users/{id}/groups")),
        "{calls:?}"
    );
    sim.shutdown().await;
}
