//! The Intelligence adapter: one report of the tracked apps' foreground events over the
//! request's range (at most 28 days), each event an observation of its user.

use super::{
    AppMatcher, Coverage, ReportedUser, Signal, UsageError, UsageObservation, UsageRead,
    UsageRequest, UsageSource,
};
use crate::domain::AppId;
use crate::ports::Clock;
use crate::sources::intelligence::{IntelligenceClient, UsageReportSpec};
use async_trait::async_trait;
use futures::StreamExt;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

pub struct IntelligenceUsage {
    client: Arc<IntelligenceClient>,
    clock: Arc<dyn Clock>,
    /// How long one read may wait for the report to complete.
    wait: Duration,
}

impl IntelligenceUsage {
    pub const NAME: &'static str = "intelligence";

    pub fn new(client: Arc<IntelligenceClient>, clock: Arc<dyn Clock>, wait: Duration) -> Self {
        Self {
            client,
            clock,
            wait,
        }
    }
}

#[async_trait]
impl UsageSource for IntelligenceUsage {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn signal(&self) -> Signal {
        Signal::Foreground
    }

    #[tracing::instrument(skip_all, fields(apps = request.apps.len()))]
    async fn read(&self, request: &UsageRequest) -> Result<UsageRead, UsageError> {
        // DEEM names a macOS app `Slack.app` and a Windows one may carry `.exe`: the report's
        // filter matches names exactly, so it lists those forms too.
        let names = request
            .apps
            .iter()
            .flat_map(|a| a.names.iter())
            .flat_map(|n| {
                let lower = n.to_ascii_lowercase();
                if lower.ends_with(".app") || lower.ends_with(".exe") {
                    vec![n.clone()]
                } else {
                    vec![n.clone(), format!("{n}.app"), format!("{n}.exe")]
                }
            });
        let spec = UsageReportSpec::new(names, request.from, request.to)?;
        let read_at = self.clock.now();
        let rows = self
            .client
            .read_usage(&spec, tokio::time::Instant::now() + self.wait)
            .await?;
        let matcher = AppMatcher::new(&request.apps);
        // Few distinct app names, millions of rows: each name is matched once.
        let known: HashMap<String, Option<AppId>> = HashMap::new();
        let observations = futures::stream::try_unfold(
            (rows, matcher, known),
            |(mut rows, matcher, mut known)| async move {
                loop {
                    let Some(row) = rows.next_row().await? else {
                        let (read, skipped) = rows.counts();
                        tracing::info!(rows = read, skipped, "Intelligence usage report read");
                        return Ok(None);
                    };
                    let app = match known.get(row.app.as_str()) {
                        Some(app) => app.clone(),
                        None => {
                            let app = matcher.find(&row.app).cloned();
                            known.insert(row.app.clone(), app.clone());
                            app
                        }
                    };
                    // The report is filtered to these apps; a name the matcher does not know
                    // is an alias nobody listed, not usage of something else.
                    if let Some(app) = app {
                        let observation = UsageObservation {
                            user: ReportedUser::Name(row.user),
                            app,
                            last_used: Some(row.at),
                            launches: 1,
                            installed: None,
                        };
                        return Ok(Some((observation, (rows, matcher, known))));
                    }
                }
            },
        )
        .boxed();
        Ok(UsageRead {
            coverage: Coverage {
                source: Self::NAME.into(),
                signal: Signal::Foreground,
                apps: request.apps.iter().map(|a| a.app.clone()).collect(),
                from: spec.start,
                to: spec.end,
                read_at,
            },
            observations,
        })
    }
}
