//! Local mode's schedule, standing in for the deployed EventBridge rules: a frequent nudge that
//! applies changes left pending (an outage, a worker stopped mid-flush), the periodic sweep, and
//! the license reclaimer's run.

use loadout::stages::execute::Executor;
use loadout::stages::reclaim::{Reclaimer, active_catalog};
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
    /// How often license reclamation runs (`None`: only when asked, `loadout reclaim`).
    /// (`None`, or no reclaimer given: never).
    pub reclaim: Option<Duration>,
}

pub fn spawn(
    executor: Arc<Executor>,
    sweeper: Arc<Sweeper>,
    reclaimer: Option<Arc<Reclaimer>>,
    intervals: Intervals,
    mut stopped: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(
        async move {
            let mut since_sweep = Duration::ZERO;
            let mut since_reclaim = Duration::ZERO;
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
                since_reclaim += intervals.nudge;
                if let (Some(every), Some(reclaimer)) = (intervals.reclaim, reclaimer.as_ref())
                    && since_reclaim >= every
                {
                    since_reclaim = Duration::ZERO;
                    let run = async {
                        let catalog = active_catalog(reclaimer.services().store.as_ref()).await?;
                        reclaimer.run(&catalog, false).await
                    };
                    match run.await {
                        Ok(report) => tracing::info!(
                            notices = report.notices(),
                            reclaimed = report.reclaimed(),
                            "scheduled reclamation done"
                        ),
                        Err(e) => tracing::warn!(error = %e, "scheduled reclamation failed"),
                    }
                }
            }
        }
        .instrument(tracing::info_span!("schedule")),
    )
}
