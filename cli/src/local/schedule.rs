//! Local mode's schedule, standing in for the deployed EventBridge rules: a frequent nudge that
//! applies changes left pending (an outage, a worker stopped mid-flush) and the periodic sweep.

use loadout::stages::execute::Executor;
use loadout::stages::sweep::{SweepOptions, Sweeper};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::Instrument;

#[derive(Debug, Clone, Copy)]
pub struct Intervals {
    pub nudge: Duration,
    pub sweep: Option<Duration>,
}

pub fn spawn(
    executor: Arc<Executor>,
    sweeper: Arc<Sweeper>,
    intervals: Intervals,
    mut stopped: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(
        async move {
            let mut since_sweep = Duration::ZERO;
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(intervals.nudge) => {}
                    _ = stopped.changed() => {}
                }
                if *stopped.borrow() {
                    break;
                }
                if let Err(e) = executor.flush_pending().await {
                    tracing::warn!(error = %e, "applying pending changes failed");
                }
                since_sweep += intervals.nudge;
                if let Some(every) = intervals.sweep
                    && since_sweep >= every
                {
                    since_sweep = Duration::ZERO;
                    match sweeper.sweep(&SweepOptions::default()).await {
                        Ok(report) => tracing::info!(
                            drift = report.drift.len(),
                            reevaluated = report.reevaluated,
                            "scheduled sweep done"
                        ),
                        Err(e) => tracing::warn!(error = %e, "scheduled sweep failed"),
                    }
                }
            }
        }
        .instrument(tracing::info_span!("schedule")),
    )
}
