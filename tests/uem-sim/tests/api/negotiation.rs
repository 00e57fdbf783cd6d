//! `Accept`: JSON by default and for `application/json[;version=N]`, XML on request, 406 for
//! anything else; exact content types; module segments in any case; `/api/v{n}/` paths.

use crate::fixture::sim;
use crate::raw::{Raw, assert_empty, error_of, json_of};
use reqwest::{Method, header};

fn content_type(resp: &reqwest::Response) -> Option<String> {
    resp.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

#[tokio::test]
async fn json_without_accept_and_for_any_json_accept() {
    let sim = sim().await;
    let raw = Raw::new(&sim);
    for accept in [
        None,
        Some("*/*"),
        Some("application/json"),
        Some("application/json;version=2"),
        Some("application/json; version=1"),
        Some("application/*"),
        Some("text/html, application/json;q=0.9"),
    ] {
        let mut req = raw.bare(Method::GET, "/api/system/users/search?username=bob");
        if let Some(a) = accept {
            req = req.header(header::ACCEPT, a);
        }
        let body = json_of(req.send().await.unwrap(), 200).await;
        assert_eq!(body["Users"][0]["UserName"], "bob", "Accept {accept:?}");
    }
}

#[tokio::test]
async fn xml_on_request_for_answers_and_errors() {
    let sim = sim().await;
    let raw = Raw::new(&sim);
    let xml = |path: &str| {
        raw.bare(Method::GET, path)
            .header(header::ACCEPT, "application/xml")
            .send()
    };
    let resp = xml("/api/system/users/search?username=bob").await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        content_type(&resp).as_deref(),
        Some("application/xml; charset=utf-8")
    );
    let text = resp.text().await.unwrap();
    assert!(text.starts_with("<?xml"), "{text}");
    assert!(text.contains("<UserSearchResult>"), "{text}");
    assert!(
        text.contains("<Users><User><Id><Value>"),
        "list items are singular elements: {text}"
    );
    assert!(text.contains("<UserName>bob</UserName>"), "{text}");
    assert!(text.contains("<Total>1</Total>"), "{text}");

    let missing = xml("/api/mdm/smartgroups/999").await.unwrap();
    assert_eq!(missing.status(), 404);
    let text = missing.text().await.unwrap();
    assert!(
        text.contains("<Error>") && text.contains("<errorCode>"),
        "{text}"
    );

    // Empty answers stay empty, without a content type.
    assert_empty(
        xml("/api/system/users/search?username=zed").await.unwrap(),
        204,
    )
    .await;

    let text_xml = raw
        .bare(
            Method::GET,
            "/api/mdm/devices?searchby=Serialnumber&id=A-IOS",
        )
        .header(header::ACCEPT, "text/xml")
        .send()
        .await
        .unwrap();
    assert!(
        text_xml
            .text()
            .await
            .unwrap()
            .contains("<SerialNumber>A-IOS</SerialNumber>")
    );
}

#[tokio::test]
async fn an_accept_the_api_cannot_serve_is_406_with_the_error_object() {
    let sim = sim().await;
    let raw = Raw::new(&sim);
    for accept in ["text/html", "image/png", "application/json;q=0"] {
        let resp = raw
            .bare(Method::GET, "/api/system/users/search")
            .header(header::ACCEPT, accept)
            .send()
            .await
            .unwrap();
        let body = error_of(resp, 406).await;
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("application/json")
        );
    }
}

#[tokio::test]
async fn module_segments_in_any_case_and_the_version_in_the_path() {
    let sim = sim().await;
    let raw = Raw::new(&sim);
    let d = json_of(
        raw.get("/API/MDM/devices?searchby=Serialnumber&id=B-0")
            .await,
        200,
    )
    .await;
    let id = d["Id"]["Value"].as_i64().unwrap();
    // pyws1uem deletes under `/api/MDM/`.
    assert_empty(raw.delete(&format!("/api/MDM/devices/{id}")).await, 204).await;
    error_of(raw.get(&format!("/api/mdm/devices/{id}")).await, 404).await;

    let alice = json_of(raw.get("/api/System/Users/1000").await, 200).await;
    let uuid = alice["Uuid"].as_str().unwrap();
    let v2 = json_of(raw.get(&format!("/api/v2/system/users/{uuid}")).await, 200).await;
    assert_eq!(
        v2["userName"], "alice",
        "the path's version picks the v2 shape"
    );
}
