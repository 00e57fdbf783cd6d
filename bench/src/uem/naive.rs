//! The strategy Loadout is measured against: every assignment on its own, as a script would do
//! it. Per user one user search; per user and app a read of the app's group and a write of it
//! with the user added. Run for real on a sample (its own simulator, the same rate limit and
//! clock) and extrapolated, so the per-user cost is measured rather than assumed.

use super::setup;
use loadout::adapters::local::{LocalDb, SqliteStateStore};
use loadout::uem::{GroupMember, UemApi, UemClient, UserLookup};
use std::sync::Arc;
use uem_sim::{SimConfig, UemSim};

pub struct NaiveSample {
    pub users: usize,
    pub calls: usize,
    pub seconds: f64,
}

impl NaiveSample {
    pub fn calls_per_user(&self) -> f64 {
        self.calls as f64 / self.users as f64
    }
}

/// Assigns `apps` apps to `sample` users of a tenant of `tenant_users`, one by one.
pub async fn run(
    tenant_users: usize,
    apps: usize,
    sample: usize,
    requests_per_minute: u32,
) -> Result<NaiveSample, String> {
    let tenant = setup::tenant(tenant_users, apps)?;
    let sim = UemSim::start(SimConfig::new(tenant).requests_per_minute(requests_per_minute))
        .await
        .map_err(|e| e.to_string())?;
    let clock = setup::tokio_clock();
    let db = LocalDb::in_memory().map_err(|e| e.to_string())?;
    let client = UemClient::new(
        setup::uem_config(&sim, requests_per_minute),
        Arc::new(SqliteStateStore::new(db, clock.clone())),
        clock,
    )
    .map_err(|e| e.to_string())?;
    let err = |e: loadout::uem::UemError| e.to_string();

    // Not measured: the apps' groups exist already (UEM may refuse an empty user group, so
    // each starts with user 0, who is not in the sample).
    let seed = client
        .find_users_by(UserLookup::UserName, &setup::username(0))
        .await
        .map_err(err)?
        .into_iter()
        .next()
        .ok_or("no seed user")?;
    let seed = GroupMember {
        id: seed.id.to_string(),
        name: seed.username,
    };
    let mut groups = Vec::new();
    for a in 0..apps {
        let group = client
            .create_smart_group(
                &format!("naive:{}", setup::app_id(a)),
                std::slice::from_ref(&seed),
            )
            .await
            .map_err(err)?;
        groups.push(group.id);
    }
    sim.set_requests_per_minute(requests_per_minute);
    sim.clear_calls();

    let started = tokio::time::Instant::now();
    for u in 1..=sample {
        let user = client
            .find_users_by(UserLookup::UserName, &setup::username(u))
            .await
            .map_err(err)?
            .into_iter()
            .next()
            .ok_or("sample user missing")?;
        for id in &groups {
            let mut group = client.get_smart_group(*id).await.map_err(err)?;
            group.users.push(GroupMember {
                id: user.id.to_string(),
                name: user.username.clone(),
            });
            client.update_smart_group(&group).await.map_err(err)?;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let calls = sim.calls().len();
    sim.shutdown().await;
    Ok(NaiveSample {
        users: sample,
        calls,
        seconds,
    })
}
