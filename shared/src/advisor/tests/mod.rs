//! The Bedrock adviser against the fake Converse endpoint (`tests/bedrock-sim`): what is sent,
//! what comes back, and every way a reply can be wrong.

mod adversarial;
mod calls;

use super::*;
use crate::domain::{AppId, Catalog, Device, Employee, Ownership, Platform, UserId};
use aws_sdk_bedrockruntime::config::{
    BehaviorVersion, Credentials, Region, SharedCredentialsProvider,
};
use bedrock_sim::{BedrockSim, DEFAULT_MODEL_ID};
use serde_json::{Value, json};
use std::time::Duration;

const CATALOG: &str = "\
- {id: slack, name: Slack, uem_app_id: '1', platforms: [iOS, macOS], bundles: [core], licensed: true, risk: low}
- {id: zoom, name: Zoom Workplace, uem_app_id: '2', platforms: [iOS, macOS], bundles: [core], licensed: true, risk: low}
- {id: salesforce, name: Salesforce, uem_app_id: '3', platforms: [iOS], bundles: [sales], licensed: true, risk: medium}
- {id: salesloft, name: Salesloft, uem_app_id: '4', platforms: [iOS], bundles: [sales], licensed: true, risk: medium}
- {id: gong, name: Gong, uem_app_id: '5', platforms: [iOS, macOS], bundles: [sales], licensed: true, risk: medium}
- {id: docusign, name: DocuSign, uem_app_id: '6', platforms: [iOS], bundles: [sales], licensed: true, risk: low}
- {id: tableau, name: Tableau, uem_app_id: '7', platforms: [macOS], bundles: [analytics], licensed: true, risk: high}
- {id: canva, name: Canva, uem_app_id: '8', platforms: [iOS, macOS], bundles: [marketing], licensed: true, risk: low}
- {id: notion, name: Notion, uem_app_id: '9', platforms: [iOS, macOS], bundles: [collaboration], licensed: false, risk: low}
- {id: miro, name: Miro, uem_app_id: '10', platforms: [iOS, macOS], bundles: [collaboration], licensed: true, risk: low}
- {id: 1password, name: 1Password, uem_app_id: '11', platforms: [iOS, macOS], bundles: [security], licensed: true, risk: low}
- {id: hubspot, name: HubSpot, uem_app_id: '12', platforms: [iOS], bundles: [marketing], licensed: true, risk: medium}
";

/// Every identifying string of the test person; none may leave.
const PERSONAL: [&str; 9] = [
    "u-4821",
    "dana.whitfield@corp.example",
    "dana.whitfield",
    "u-1007",
    "dwhitfield",
    "dana.w@corpexample.onmicrosoft.com",
    "C02XK1ABJG5H",
    "F2LXW9ABCD12",
    "vip-dana-whitfield",
];

fn employee() -> Employee {
    Employee {
        id: UserId::new("u-4821"),
        email: "dana.whitfield@corp.example".into(),
        department: "Sales".into(),
        title: "Account Executive".into(),
        location: "Austin".into(),
        region: "AMER".into(),
        employment_type: "Full-time".into(),
        manager_id: Some(UserId::new("u-1007")),
        groups: vec!["sales-amer".into(), "vip-dana-whitfield".into()],
        account_name: Some("dwhitfield".into()),
        upn: Some("dana.w@corpexample.onmicrosoft.com".into()),
    }
}

fn devices() -> Vec<Device> {
    [
        ("C02XK1ABJG5H", Platform::MacOs),
        ("F2LXW9ABCD12", Platform::Ios),
    ]
    .into_iter()
    .map(|(id, platform)| Device {
        device_id: id.into(),
        user_id: UserId::new("u-4821"),
        platform,
        os_version: "17.5".into(),
        model: "test".into(),
        ownership: Ownership::Corporate,
        compliant: true,
        free_storage_mb: None,
    })
    .collect()
}

fn ids(list: &[&str]) -> Vec<AppId> {
    list.iter().map(|s| AppId::new(*s)).collect()
}

/// Has slack and zoom, will get salesforce, may not have tableau; 17 peers.
fn request() -> AdviceRequest {
    let catalog = Catalog::from_yaml(CATALOG).expect("catalog");
    AdviceRequest::new(&employee(), &devices(), &catalog)
        .with_current(ids(&["slack", "zoom"]))
        .with_desired(ids(&["salesforce"]))
        .with_forbidden(ids(&["tableau"]))
        .with_peers(PeerUsage {
            cohort: "department, title and location".into(),
            size: 17,
            apps: vec![
                PeerApp {
                    app_id: AppId::new("salesloft"),
                    users: 14,
                },
                PeerApp {
                    app_id: AppId::new("gong"),
                    users: 9,
                },
                PeerApp {
                    app_id: AppId::new("tableau"),
                    users: 6,
                },
            ],
        })
}

fn settings(sim: &BedrockSim) -> AdviserSettings {
    AdviserSettings {
        kind: AdviserKind::Bedrock,
        model_id: Some(DEFAULT_MODEL_ID.into()),
        region: Some("us-east-1".into()),
        endpoint_url: Some(sim.base_url().to_owned()),
        prices: Some(Prices {
            input_per_1k: 0.003,
            output_per_1k: 0.015,
        }),
        timeout: Duration::from_secs(5),
        max_attempts: 3,
        limits: PromptLimits::default(),
    }
}

/// The adapter as a deployment builds it (`bedrock_client` from an SDK configuration), with test
/// credentials and the fake endpoint.
fn adviser_with(settings: &AdviserSettings) -> BedrockAdviser {
    let sdk = aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "AKIDLOADOUTTEST",
            "not-a-secret",
            None,
            None,
            "test",
        )))
        .build();
    let client = bedrock_client(&sdk, settings);
    let key = Pseudonymizer::new(b"per-deployment-test-key").expect("key");
    BedrockAdviser::new(client, settings, key).expect("adviser")
}

fn good_input() -> Value {
    json!({"recommendations": [
        {"app_id": "salesloft", "reason": "Used by 14 of 17 Account Executives in Austin.", "confidence": 0.9},
        {"app_id": "gong", "reason": "Used by 9 of 17 peers; pairs with Salesforce."},
    ]})
}
