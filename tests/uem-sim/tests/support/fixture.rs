//! The fixture tenant and simulator every test file shares (no Loadout code here, so test
//! binaries that use only this do not link Loadout).

#![allow(dead_code)]

use uem_sim::{AppSeed, AppType, DeviceSeed, SimConfig, SimHandle, Tenant, UemSim};

/// alice (3 devices), alice2 (1), bob (7: enough for three pages of 3), carol (none); four apps.
pub fn tenant() -> Tenant {
    let mut b = Tenant::builder()
        .seed(42)
        .user("alice", "alice.smith@example.com")
        .user("alice2", "alice.jones@example.com")
        .user("bob", "bob.brown@example.com")
        .user("carol", "carol.white@example.com")
        .device(DeviceSeed::new("A-IOS", "alice", "iOS").ownership("E"))
        .device(DeviceSeed::new("A-MAC", "alice", "macOS").compliant(false))
        .device(DeviceSeed::new("A-WIN", "alice", "Windows"))
        .device(DeviceSeed::new("A2-DROID", "alice2", "Android"))
        .app(AppSeed::new(1201, "Slack", "iOS").platforms(&["iOS", "macOS", "Windows"]))
        .app(AppSeed::new(1202, "Salesforce", "iOS"))
        .app(AppSeed::new(1203, "Zoom", "macOS").app_type(AppType::Public))
        .app(AppSeed::new(1204, "Tableau", "Windows").app_type(AppType::Purchased))
        .unmanaged_app("A-IOS", "com.example.notes", "Notes");
    for i in 0..7 {
        b = b.device(DeviceSeed::new(&format!("B-{i}"), "bob", "Android"));
    }
    b.build().expect("fixture tenant")
}

/// The fixture tenant without a rate limit.
pub async fn sim() -> SimHandle {
    sim_with(SimConfig::new(tenant()).requests_per_minute(0)).await
}

pub async fn sim_with(config: SimConfig) -> SimHandle {
    UemSim::start(config).await.expect("simulator starts")
}
