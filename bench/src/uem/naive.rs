//! The strategy Loadout is measured against: every assignment on its own, as a script would do
//! it. Per user one user search; per user and app a read of the app's group and a write of it
//! with the user added. Run for real on a sample (its own simulator, the same rate limit and
//! clock) and extrapolated, so the per-user cost is measured rather than assumed.

use super::run::Knobs;
use super::setup::{self, Catalog};
use loadout::adapters::local::{LocalDb, SqliteStateStore};
use loadout::uem::{GroupMember, InitialFill, UemApi, UemClient, UserLookup};
use std::sync::Arc;
use uem_sim::{BucketStart, LatencyModel, SimConfig, UemSim};

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

/// Assigns `apps` apps to `sample` people, one by one, on the same terms as Loadout's run: the
/// rate limit, UEM's latency and the bucket's start.
pub async fn run(knobs: &Knobs, apps: usize, sample: usize) -> Result<NaiveSample, String> {
    let requests_per_minute = knobs.requests_per_minute;
    let catalog = Catalog {
        apps,
        department_apps: 0,
    };
    let tenant = setup::tenant(sample + 1, catalog)?;
    let mut config = SimConfig::new(tenant).requests_per_minute(requests_per_minute);
    if let Some((min, max)) = knobs.latency {
        config = config.latency(LatencyModel::between(min, max).seed(knobs.seed));
    }
    let sim = UemSim::start(config).await.map_err(|e| e.to_string())?;
    let start = if knobs.bucket_empty {
        (BucketStart::Empty, InitialFill::Empty)
    } else {
        (BucketStart::Full, InitialFill::Full)
    };
    let clock = setup::tokio_clock();
    let db = LocalDb::in_memory().map_err(|e| e.to_string())?;
    let client = UemClient::new(
        setup::uem_config(&sim, requests_per_minute),
        Arc::new(SqliteStateStore::new(db, clock.clone())),
        clock,
    )
    .map_err(|e| e.to_string())?
    .with_initial_budget(start.1);
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
    sim.set_rate_limit(requests_per_minute, start.0);
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
