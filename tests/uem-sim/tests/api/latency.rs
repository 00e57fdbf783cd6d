//! UEM's response time on tokio's clock, and the rate-limit bucket's starting fill.

use crate::fixture::{sim_with, tenant};
use crate::raw::{Raw, error_of, json_of};
use reqwest::header;
use std::time::Duration;
use uem_sim::{BucketStart, LatencyModel, SimConfig};

/// Ten searches' simulated time with this latency seed.
async fn ten_calls(seed: u64) -> Duration {
    let sim = sim_with(
        SimConfig::new(tenant())
            .requests_per_minute(0)
            .latency(LatencyModel::typical().seed(seed)),
    )
    .await;
    let raw = Raw::new(&sim);
    let started = tokio::time::Instant::now();
    for _ in 0..10 {
        json_of(raw.get("/api/system/users/search").await, 200).await;
    }
    let took = started.elapsed();
    sim.shutdown().await;
    took
}

#[tokio::test(start_paused = true)]
async fn each_call_takes_150_to_600_ms_of_simulated_time_reproducibly() {
    let a = ten_calls(7).await;
    assert!(
        (Duration::from_millis(1500)..=Duration::from_millis(6100)).contains(&a),
        "{a:?}"
    );
    assert_eq!(ten_calls(7).await, a, "the same seed, the same latencies");
    assert_ne!(ten_calls(8).await, a);
}

#[tokio::test]
async fn an_empty_bucket_makes_the_first_call_wait() {
    let empty = sim_with(
        SimConfig::new(tenant())
            .requests_per_minute(60)
            .bucket_start(BucketStart::Empty),
    )
    .await;
    let raw = Raw::new(&empty);
    let first = raw.get("/api/system/users/search").await;
    assert_eq!(first.headers()[header::RETRY_AFTER], "1");
    error_of(first, 429).await;

    let full = sim_with(SimConfig::new(tenant()).requests_per_minute(60)).await;
    let raw = Raw::new(&full);
    for _ in 0..5 {
        json_of(raw.get("/api/system/users/search").await, 200).await;
    }
    full.set_rate_limit(60, BucketStart::Empty);
    error_of(raw.get("/api/system/users/search").await, 429).await;
}
