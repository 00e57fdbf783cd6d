//! Context enrichment: who the user is now (newest profile wins over out-of-order events), their
//! devices from UEM (cached with a TTL), and their app usage; attached to the event for decide.

use super::batch::{BatchReport, InboundMessage, decode_envelope, process_each};
use super::directory::{self, StoredProfile};
use super::{Services, StageError};
use super::{group_change, source_lookup};
use crate::domain::{
    AuditKind, AuditRecord, DomainEvent, Envelope, EventKind, MessageKind, UserContext, UserId,
};
use crate::keys;
use crate::ports::queue::names;
use crate::ports::{Condition, OutgoingMessage, StateStoreExt};
use crate::sources::DirectorySources;
use crate::uem::UemApi;
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
}

impl Enricher {
    pub fn new(services: Services, uem: Arc<dyn UemApi>) -> Self {
        Self {
            services,
            uem,
            sources: DirectorySources::none(),
        }
    }

    /// Reads people from these directories when an event names them by that source's id.
    pub fn with_sources(mut self, sources: DirectorySources) -> Self {
        self.sources = sources;
        self
    }

    pub async fn handle_batch(&self, messages: Vec<InboundMessage>) -> BatchReport {
        process_each(&self.services, names::ENRICH, messages, |m| self.process(m)).await
    }

    async fn process(&self, message: InboundMessage) -> Result<(), StageError> {
        let envelope: Envelope<DomainEvent> = decode_envelope(&message.body)?;
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
        let context = self.context(&profile, event.kind).await?;
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

    /// The user's context, from the cache unless it is stale or the event is about a device.
    async fn context(
        &self,
        profile: &StoredProfile,
        kind: EventKind,
    ) -> Result<UserContext, StageError> {
        let s = &self.services;
        let user = &profile.employee.id;
        let (pk, sk) = keys::context_cache(user);
        if kind != EventKind::DeviceChange
            && let Some((cached, _)) = s.store.get_as::<UserContext>(&pk, &sk).await?
            && cached.employee == profile.employee
        {
            return Ok(cached);
        }
        let devices = self.uem.devices_of_user(user.as_str()).await?;
        let usage = directory::load_usage(s.store.as_ref(), user).await?;
        let context = UserContext {
            employee: profile.employee.clone(),
            devices,
            installed: Vec::new(),
            usage,
            fetched_at: s.clock.now(),
        };
        let expires = s.clock.now().timestamp() + s.settings.context_ttl.as_secs() as i64;
        s.store
            .put_as(&pk, &sk, &context, Some(expires), Condition::None)
            .await?;
        Ok(context)
    }
}
