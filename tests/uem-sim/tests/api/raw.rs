//! A bare HTTP client for the simulator, and assertions on UEM's answer shapes.

#![allow(dead_code)]

use reqwest::{Client, Method, RequestBuilder, Response, header};
use serde_json::{Value, json};
use uem_sim::SimHandle;

pub struct Raw<'a> {
    pub sim: &'a SimHandle,
    pub http: Client,
}

impl<'a> Raw<'a> {
    pub fn new(sim: &'a SimHandle) -> Self {
        Self {
            sim,
            http: Client::new(),
        }
    }

    /// Basic auth and the tenant code, no Accept header.
    pub fn bare(&self, method: Method, path: &str) -> RequestBuilder {
        let c = &self.sim.credentials;
        self.http
            .request(method, format!("{}{}", self.sim.base_url, path))
            .basic_auth(&c.username, Some(&c.password))
            .header("aw-tenant-code", &c.tenant_code)
    }

    /// A request with Basic auth, the tenant code and `Accept: application/json;version=N`.
    pub fn req(&self, method: Method, path: &str, version: u32) -> RequestBuilder {
        self.bare(method, path).header(
            header::ACCEPT,
            format!("application/json;version={version}"),
        )
    }

    pub async fn get(&self, path: &str) -> Response {
        self.req(Method::GET, path, 1).send().await.unwrap()
    }

    pub async fn get_v(&self, path: &str, version: u32) -> Response {
        self.req(Method::GET, path, version).send().await.unwrap()
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.req(Method::DELETE, path, 1).send().await.unwrap()
    }

    pub async fn send_json(
        &self,
        method: Method,
        path: &str,
        version: u32,
        body: Value,
    ) -> Response {
        self.req(method, path, version)
            .header(header::CONTENT_TYPE, "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap()
    }

    pub async fn post(&self, path: &str, body: Value) -> Response {
        self.send_json(Method::POST, path, 1, body).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Response {
        self.send_json(Method::PUT, path, 1, body).await
    }
}

/// A JSON answer: exactly UEM's content type, and an object (never a top-level array).
pub async fn json_of(resp: Response, status: u16) -> Value {
    let url = resp.url().to_string();
    assert_eq!(resp.status().as_u16(), status, "status of {url}");
    assert_eq!(
        resp.headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
        Some("application/json; charset=utf-8")
    );
    let body: Value = resp.json().await.unwrap();
    assert!(body.is_object(), "top-level JSON is an object: {body}");
    body
}

/// UEM's error object.
pub async fn error_of(resp: Response, status: u16) -> Value {
    let body = json_of(resp, status).await;
    assert!(body["errorCode"].as_i64().is_some_and(|c| c != 0), "{body}");
    assert!(body["message"].is_string(), "{body}");
    assert_eq!(
        body["activityId"].as_str().map(str::len),
        Some(36),
        "{body}"
    );
    body
}

pub async fn assert_empty(resp: Response, status: u16) {
    assert_eq!(resp.status().as_u16(), status);
    assert!(
        resp.headers().get(header::CONTENT_TYPE).is_none(),
        "an empty answer carries no JSON content type"
    );
    assert!(resp.bytes().await.unwrap().is_empty());
}

pub async fn user_id(raw: &Raw<'_>, username: &str) -> i64 {
    let body = json_of(
        raw.get(&format!("/api/system/users/search?username={username}"))
            .await,
        200,
    )
    .await;
    body["Users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["UserName"] == username)
        .unwrap()["Id"]["Value"]
        .as_i64()
        .unwrap()
}

/// A user-based group of these users (names left empty: UEM fills them in).
pub async fn create_group(raw: &Raw<'_>, name: &str, users: &[i64]) -> i64 {
    let additions: Vec<Value> = users
        .iter()
        .map(|u| json!({"Id": u.to_string(), "Name": ""}))
        .collect();
    let body = json_of(
        raw.post(
            "/api/mdm/smartgroups",
            json!({"Name": name, "CriteriaType": "UserDevice", "UserAdditions": additions}),
        )
        .await,
        201,
    )
    .await;
    body["Value"]
        .as_i64()
        .expect("create answers {\"Value\": id}")
}

/// An app's uuid from its details.
pub async fn app_uuid(raw: &Raw<'_>, kind: &str, id: i64) -> String {
    let details = json_of(raw.get(&format!("/api/mam/apps/{kind}/{id}")).await, 200).await;
    details["uuid"].as_str().unwrap().to_owned()
}
