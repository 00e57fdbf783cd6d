//! The UEM adapter: whether each tracked app is installed on any of a user's devices, from
//! UEM's device apps (`UemApi::installed_apps`). UEM has no last-used time (research: no such
//! field exists), so this is install state only, never usage. It costs one device search per
//! user and one apps read per device: meant for the users holding seats, not the whole fleet.

use super::{
    AppMatcher, Coverage, ReportedUser, Signal, UsageError, UsageObservation, UsageRead,
    UsageRequest, UsageSource,
};
use crate::domain::AppId;
use crate::ports::Clock;
use crate::uem::UemApi;
use async_trait::async_trait;
use futures::StreamExt;
use std::collections::BTreeSet;
use std::sync::Arc;

pub struct UemDeviceApps {
    uem: Arc<dyn UemApi>,
    clock: Arc<dyn Clock>,
    /// UEM enrollment user names to read.
    users: Vec<String>,
}

impl UemDeviceApps {
    pub const NAME: &'static str = "uem-device-apps";

    pub fn new(uem: Arc<dyn UemApi>, clock: Arc<dyn Clock>, users: Vec<String>) -> Self {
        Self { uem, clock, users }
    }
}

#[async_trait]
impl UsageSource for UemDeviceApps {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn signal(&self) -> Signal {
        Signal::Installed
    }

    #[tracing::instrument(skip_all, fields(users = self.users.len()))]
    async fn read(&self, request: &UsageRequest) -> Result<UsageRead, UsageError> {
        let now = self.clock.now();
        let matcher = AppMatcher::new(&request.apps);
        let tracked: Vec<AppId> = request.apps.iter().map(|a| a.app.clone()).collect();
        let uem = Arc::clone(&self.uem);
        let per_user = futures::stream::iter(self.users.clone())
            .then(move |user| {
                let uem = Arc::clone(&uem);
                let matcher = matcher.clone();
                let tracked = tracked.clone();
                async move {
                    let mut installed = BTreeSet::new();
                    for device in uem.devices_of_user(&user).await? {
                        for app in uem.installed_apps(&device.device_id).await? {
                            if !app.installed {
                                continue;
                            }
                            let found = matcher
                                .find(&app.name)
                                .or_else(|| matcher.find(&app.bundle_id));
                            if let Some(id) = found {
                                installed.insert(id.clone());
                            }
                        }
                    }
                    let observations: Vec<Result<UsageObservation, UsageError>> = tracked
                        .into_iter()
                        .map(|app| {
                            Ok(UsageObservation {
                                user: ReportedUser::Name(user.clone()),
                                installed: Some(installed.contains(&app)),
                                app,
                                last_used: None,
                                launches: 0,
                            })
                        })
                        .collect();
                    Ok::<_, UsageError>(observations)
                }
            })
            .flat_map(|result| match result {
                Ok(list) => futures::stream::iter(list).left_stream(),
                Err(e) => futures::stream::iter(vec![Err(e)]).right_stream(),
            })
            .boxed();
        Ok(UsageRead {
            coverage: Coverage {
                source: Self::NAME.into(),
                signal: Signal::Installed,
                apps: request.apps.iter().map(|a| a.app.clone()).collect(),
                from: now,
                to: now,
                read_at: now,
            },
            observations: per_user,
        })
    }
}
