//! `GET /reclaim/keep?...`: the one-click "keep it" link of a reclamation notice. A genuine link
//! of the seat's current cycle keeps the seat (the record moves to kept with compare-and-swap,
//! the exclusion is lifted, the keep is audited); the same click again answers 200 with no
//! further effect. Answers: 200 kept, 400 malformed, 401 forged, 404 unknown seat, 409 the seat
//! was already reclaimed (or the cycle ended otherwise), 410 expired or from an earlier cycle,
//! 503 when Loadout cannot check or store. Refusals of forged links are only logged, so strangers
//! cannot write to the audit trail.

use super::exclusion;
use super::link::{self, LinkError};
use super::seat::{self, SeatState};
use crate::domain::{AuditKind, AuditRecord};
use crate::ports::secrets::keys;
use crate::stages::Services;
use crate::webhook::{ApiResponse, InboundRequest};
use http::Method;
use serde_json::json;

pub use link::KEEP_PATH;

pub async fn handle(services: &Services, request: &InboundRequest) -> ApiResponse {
    if request.method != Method::GET {
        return ApiResponse::error(405, "method_not_allowed", "use GET")
            .with_header("allow", "GET");
    }
    let mut secrets = Vec::new();
    for name in [
        keys::RECLAIM_LINK_SECRET.to_owned(),
        keys::previous(keys::RECLAIM_LINK_SECRET),
    ] {
        match services.secrets.get(&name).await {
            Ok(Some(s)) => secrets.push(s),
            Ok(None) => {}
            Err(e) => {
                tracing::error!(error = %e, "secret store unavailable");
                return ApiResponse::error(503, "unavailable", "links cannot be checked right now");
            }
        }
    }
    if secrets.is_empty() {
        return ApiResponse::error(
            503,
            "not_configured",
            "reclamation links are not configured",
        );
    }
    let keys: Vec<&[u8]> = secrets.iter().map(|s| s.expose().as_bytes()).collect();
    let now = services.clock.now();
    let claim = match link::verify(&request.query, &keys, now) {
        Ok(c) => c,
        Err(LinkError::Malformed(what)) => {
            return ApiResponse::error(
                400,
                "malformed_link",
                format!("the link's {what} is missing or malformed"),
            );
        }
        Err(LinkError::Forged) => {
            tracing::warn!("a reclamation link with a bad signature was refused");
            return ApiResponse::error(
                401,
                "invalid_signature",
                "this link is not one Loadout signed",
            );
        }
        Err(LinkError::Expired(at)) => {
            return ApiResponse::error(
                410,
                "link_expired",
                format!("this link expired at {}", at.format("%Y-%m-%d %H:%M UTC")),
            );
        }
    };
    match keep(services, &claim).await {
        Ok(response) => response,
        Err(e) => {
            tracing::error!(error = %e, "keep link not applied");
            ApiResponse::error(
                503,
                "unavailable",
                "the seat could not be kept right now; try again",
            )
        }
    }
}

async fn keep(
    services: &Services,
    claim: &link::KeepClaim,
) -> Result<ApiResponse, super::ReclaimError> {
    let store = services.store.as_ref();
    for _ in 0..8 {
        let Some((mut record, version)) = seat::load(store, &claim.app, &claim.user).await? else {
            return Ok(ApiResponse::error(
                404,
                "unknown_seat",
                "no reclamation of this seat is under way",
            ));
        };
        if record.cycle.timestamp() != claim.cycle {
            return Ok(ApiResponse::error(
                410,
                "link_superseded",
                "this link belongs to an earlier notice",
            ));
        }
        match &record.state {
            SeatState::Kept { .. } => {
                return Ok(ApiResponse::json(
                    200,
                    &json!({"kept": true, "app": claim.app, "user": claim.user, "repeat": true}),
                ));
            }
            SeatState::Notified | SeatState::Removing { .. } => {}
            other => {
                return Ok(ApiResponse::error(
                    409,
                    "not_pending",
                    format!(
                        "this seat is no longer pending reclamation ({})",
                        other.as_str()
                    ),
                ));
            }
        }
        let now = services.clock.now();
        record.move_to(
            SeatState::Kept {
                at: now,
                by: "link".into(),
            },
            now,
        );
        if seat::save(store, &record, Some(version)).await?.is_none() {
            continue;
        }
        exclusion::set(store, &claim.user, &claim.app, None).await?;
        services
            .audit(
                AuditRecord::new(
                    now,
                    record.correlation(),
                    AuditKind::Reclamation,
                    "reclaim-link",
                    format!(
                        "{} kept by {} through the notice's link",
                        claim.app, claim.user
                    ),
                )
                .user(&claim.user)
                .app(&claim.app)
                .detail(json!({"step": "kept", "detail": {"by": "link"}})),
            )
            .await?;
        return Ok(ApiResponse::json(
            200,
            &json!({"kept": true, "app": claim.app, "user": claim.user}),
        ));
    }
    Ok(ApiResponse::error(
        503,
        "unavailable",
        "the seat keeps changing; try again",
    ))
}
