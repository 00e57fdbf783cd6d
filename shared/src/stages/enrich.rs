//! Context enrichment: who the user is now (newest profile wins over out-of-order events), who
//! they are in UEM (identity matching; parked when UEM does not know them yet), their devices
//! from the UEM inventory (a per-user read only when it misses), and their app usage; attached
//! to the event for decide. A UEM notification also keeps the inventory fresh and picks parked
//! people up as they enroll.

use super::batch::{BatchReport, InboundMessage, decode_envelope, process_each};
use super::directory::{self, StoredProfile};
use super::identity::{self, Resolution, Resolver};
use super::{Services, StageError};
use super::{group_change, source_lookup};
use crate::domain::{
    AuditKind, AuditRecord, CorrelationId, Device, DomainEvent, Envelope, EventKind, EventSource,
    MessageKind, UemTarget, UserContext, UserId,
};
use crate::inventory::Inventory;
use crate::keys;
use crate::ports::queue::names;
use crate::ports::{Condition, OutgoingMessage, StateStoreExt};
use crate::sources::DirectorySources;
use crate::uem::{UemApi, UserLookup};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::Arc;

/// The decide stage's input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnrichedEvent {
    pub event: DomainEvent,
    pub user_id: UserId,
    /// `None` for a leaver: nothing is desired, nothing needs reading.
    pub context: Option<UserContext>,
    pub is_manager: bool,
    /// The version of the profile the context was built from; decisions from an older one are
    /// superseded.
    #[serde(default)]
    pub profile_as_of: Option<chrono::DateTime<chrono::Utc>>,
}

pub struct Enricher {
    services: Services,
    uem: Arc<dyn UemApi>,
    sources: DirectorySources,
    resolver: Resolver,
}

impl Enricher {
    pub fn new(services: Services, uem: Arc<dyn UemApi>) -> Self {
        let resolver = Resolver::new(
            uem.clone(),
            Inventory::new(services.store.clone()),
            services.settings.user_match.clone(),
        );
        Self {
            services,
            uem,
            sources: DirectorySources::none(),
            resolver,
        }
    }

    /// Reads people from these directories when an event names them by that source's id.
    pub fn with_sources(mut self, sources: DirectorySources) -> Self {
        self.sources = sources;
        self
    }

    #[tracing::instrument(name = "enrich_batch", skip_all, fields(messages = messages.len()))]
    pub async fn handle_batch(&self, messages: Vec<InboundMessage>) -> BatchReport {
        process_each(&self.services, names::ENRICH, messages, |m| self.process(m)).await
    }

    async fn process(&self, message: InboundMessage) -> Result<(), StageError> {
        let mut envelope: Envelope<DomainEvent> = decode_envelope(&message.body)?;
        if envelope.payload.source == EventSource::Uem {
            match self.uem_event_subject(&envelope).await? {
                Some(user) => envelope.payload.subject.user_id = Some(user),
                None => return Ok(()),
            }
        }
        if group_change::fan_out_page(&self.services, &self.sources, &envelope).await? {
            return Ok(());
        }
        let enriched = self.enrich(&envelope.payload).await?;
        let s = &self.services;
        let devices = enriched
            .context
            .as_ref()
            .map(|c| c.devices.len())
            .unwrap_or(0);
        s.audit(
            AuditRecord::new(
                s.clock.now(),
                envelope.correlation_id.clone(),
                AuditKind::ContextEnriched,
                "enrich",
                match &enriched.context {
                    Some(_) => format!("context gathered: {devices} device(s)"),
                    None => "user has left: no context needed".to_owned(),
                },
            )
            .event(&envelope.event_id)
            .user(&enriched.user_id)
            .detail(json!({"devices": devices, "is_manager": enriched.is_manager})),
        )
        .await?;
        let next = envelope.forward(MessageKind::Enriched, enriched);
        let body =
            serde_json::to_string(&next).map_err(|e| StageError::Permanent(e.to_string()))?;
        s.queue
            .send(names::DECIDE, vec![OutgoingMessage::standard(body)])
            .await?;
        Ok(())
    }

    /// Resolves the user and gathers their context.
    pub async fn enrich(&self, event: &DomainEvent) -> Result<EnrichedEvent, StageError> {
        let s = &self.services;
        let (user, employee, source_active) = if source_lookup::applies(event, &self.sources) {
            let r = source_lookup::resolve(s.store.as_ref(), &self.sources, event).await?;
            (r.user, r.employee, r.active)
        } else {
            (
                self.resolve_user(event).await?,
                event.employee.clone(),
                None,
            )
        };
        let profile: StoredProfile = match &employee {
            Some(employee) => {
                let active = source_active.unwrap_or(event.kind != EventKind::Leaver);
                directory::upsert_profile(s.store.as_ref(), employee, event.occurred_at, active)
                    .await?
                    .0
            }
            None => {
                let known = directory::load_profile(s.store.as_ref(), &user)
                    .await?
                    .ok_or_else(|| {
                        StageError::Permanent(format!(
                            "no profile is known for user {user}; an HR event or directory import must come first"
                        ))
                    })?;
                // Thin events (IdP, UEM) still change whether the person is active, and a
                // membership event names the group that changed.
                let active = source_active.unwrap_or(match event.kind {
                    EventKind::Leaver => false,
                    EventKind::Joiner => true,
                    _ => known.active,
                });
                let employee = group_change::with_membership(&known.employee, event);
                if active != known.active || employee != known.employee {
                    directory::upsert_profile(
                        s.store.as_ref(),
                        &employee,
                        event.occurred_at,
                        active,
                    )
                    .await?
                    .0
                } else {
                    known
                }
            }
        };
        let is_manager = directory::is_manager(s.store.as_ref(), &user).await?;
        if !profile.active {
            return Ok(EnrichedEvent {
                event: event.clone(),
                user_id: user,
                context: None,
                is_manager,
                profile_as_of: Some(profile.as_of),
            });
        }
        let context = self
            .context(&profile, event.kind, event.source == EventSource::Uem)
            .await?;
        Ok(EnrichedEvent {
            event: event.clone(),
            user_id: user,
            context: Some(context),
            is_manager,
            profile_as_of: Some(profile.as_of),
        })
    }

    async fn resolve_user(&self, event: &DomainEvent) -> Result<UserId, StageError> {
        if let Some(id) = &event.subject.user_id {
            return Ok(id.clone());
        }
        if let Some(email) = &event.subject.email {
            if let Some(id) = directory::resolve_email(self.services.store.as_ref(), email).await? {
                return Ok(id);
            }
            return Err(StageError::Permanent(
                "no user is known for the event's e-mail address".into(),
            ));
        }
        Err(StageError::Permanent("the event names no user".into()))
    }

    /// A UEM notification names the enrollment user: UEM's record of them (and their devices)
    /// goes into the inventory, and the Loadout user is found through the identity Loadout
    /// matched, else the e-mail address. `None` (audited) for someone Loadout's directory does
    /// not hold: a device of a person no HR or IdP event told Loadout about needs no decision.
    async fn uem_event_subject(
        &self,
        envelope: &Envelope<DomainEvent>,
    ) -> Result<Option<UserId>, StageError> {
        let s = &self.services;
        let event = &envelope.payload;
        let inventory = self.resolver.inventory();
        let mut emails: Vec<String> = event.subject.email.iter().cloned().collect();
        if let Some(username) = &event.subject.external_id {
            for user in self
                .uem
                .find_users_by(UserLookup::UserName, username)
                .await?
            {
                inventory.put_user(&user).await?;
                if let Some(known) = identity::user_for_uem_id(s.store.as_ref(), user.id).await? {
                    return Ok(Some(known));
                }
                if !user.email.is_empty() {
                    emails.push(user.email.clone());
                }
            }
        }
        for email in &emails {
            if let Some(user) = directory::resolve_email(s.store.as_ref(), email).await? {
                return Ok(Some(user));
            }
        }
        s.audit(
            AuditRecord::new(
                s.clock.now(),
                envelope.correlation_id.clone(),
                AuditKind::ContextEnriched,
                "enrich",
                "UEM notification about an enrollment user Loadout's directory does not hold: nothing to decide",
            )
            .event(&envelope.event_id),
        )
        .await?;
        Ok(None)
    }

    /// The user's context, from the cache unless it is stale, the person was parked, or the
    /// event is about a device (`device_event`: UEM told us something changed; read it again).
    async fn context(
        &self,
        profile: &StoredProfile,
        kind: EventKind,
        device_event: bool,
    ) -> Result<UserContext, StageError> {
        let s = &self.services;
        let user = &profile.employee.id;
        let (pk, sk) = keys::context_cache(user);
        if kind != EventKind::DeviceChange
            && !device_event
            && let Some((cached, _)) = s.store.get_as::<UserContext>(&pk, &sk).await?
            && cached.employee == profile.employee
            && cached.uem_user.is_some()
        {
            return Ok(cached);
        }
        let correlation = CorrelationId::new(format!("identity-{user}"));
        let resolution = self
            .resolver
            .resolve(s, &profile.employee, &correlation, device_event)
            .await?;
        let (uem_user, parked, devices) = match &resolution {
            // A person the inventory did not know has no devices in it either: read them.
            Resolution::Matched { user: u, searched } => (
                Some(UemTarget {
                    id: u.id,
                    username: u.username.clone(),
                }),
                None,
                self.devices(user, &u.username, device_event || *searched)
                    .await?,
            ),
            Resolution::Parked(p) => (None, Some(p.reason.clone()), Vec::new()),
        };
        let usage = directory::load_usage(s.store.as_ref(), user).await?;
        let context = UserContext {
            employee: profile.employee.clone(),
            devices,
            installed: Vec::new(),
            usage,
            fetched_at: s.clock.now(),
            uem_user,
            parked,
        };
        let expires = s.clock.now().timestamp() + s.settings.context_ttl.as_secs() as i64;
        s.store
            .put_as(&pk, &sk, &context, Some(expires), Condition::None)
            .await?;
        Ok(context)
    }

    /// The devices of an enrollment user: from the inventory, else (and after a device event)
    /// read from UEM and put into the inventory. Owned by the Loadout user from here on.
    async fn devices(
        &self,
        user: &UserId,
        username: &str,
        fresh: bool,
    ) -> Result<Vec<Device>, StageError> {
        let inventory = self.resolver.inventory();
        let known = if fresh {
            None
        } else {
            inventory.devices_of(username).await?
        };
        let mut devices = match known {
            Some(devices) => devices,
            None => {
                let devices = self.uem.devices_of_user(username).await?;
                tracing::info!(count = devices.len(), "read one user's devices from UEM");
                inventory.replace_devices_of(username, &devices).await?;
                devices
            }
        };
        for device in &mut devices {
            device.user_id = user.clone();
        }
        Ok(devices)
    }
}
