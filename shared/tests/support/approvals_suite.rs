//! The approval records' compare-and-swap behaviour, run against each state store adapter
//! (`local_conformance.rs` on SQLite, `aws_conformance.rs` on DynamoDB through moto): a record
//! is created once, moves only from the version it was read at, its by-state copy moves in the
//! same transaction, concurrent writers lose no update, and two opposite verdicts racing leave
//! exactly one outcome.

use chrono::{DateTime, Utc};
use loadout::approvals::store;
use loadout::approvals::{
    ApprovalRecord, ApprovalState, Effect, StateFilter, Verdict, on_verdict, request_id,
};
use loadout::domain::{Action, ActionKind, AppId, CorrelationId, PushMode, UserId};
use loadout::ports::StateStore;
use loadout::servicenow::{
    ApprovalNotify, ApprovalRequest, CatalogItem, CatalogItemProperties, DeviceProperties, Links,
    RequestFor, UserAttributes,
};
use std::sync::Arc;

fn record(user: &str, device: &str, round: u32, now: DateTime<Utc>) -> ApprovalRecord {
    let (u, a) = (UserId::from(user), AppId::from("visio"));
    let c = CorrelationId::from("corr");
    let id = request_id(&u, &a, device, round);
    ApprovalRecord {
        request_id: id.clone(),
        round,
        state: ApprovalState::PendingApproval,
        action: Action {
            action_id: Action::derive_id(&c, &u, &a, ActionKind::Assign),
            correlation_id: c,
            user_id: u,
            app_id: a,
            kind: ActionKind::Assign,
            push_mode: PushMode::Auto,
            reasons: vec![],
            policy_version: "v1".into(),
            sequence: 1,
            uem_user: None,
        },
        device_id: device.to_owned(),
        uem_user_id: "15".into(),
        app_name: "Visio".into(),
        request: ApprovalRequest {
            request_id: id,
            request_for: RequestFor {
                user_id: "15".into(),
                user_attributes: UserAttributes {
                    user_name: user.to_owned(),
                    first_name: String::new(),
                    last_name: String::new(),
                    email: String::new(),
                },
            },
            domain: None,
            device_id: device.parse().unwrap_or(1),
            device_properties: DeviceProperties {
                name: "laptop".into(),
                device_udid: None,
                platform: "Windows".into(),
            },
            notes: String::new(),
            catalog_item: CatalogItem {
                id: "267".into(),
                name: "Visio".into(),
                categories: None,
                properties: CatalogItemProperties {
                    package_id: None,
                    version: None,
                    platform: "WinRT".into(),
                },
            },
            due_date: now.timestamp_millis(),
            links: Links {
                approval_notify: ApprovalNotify {
                    url: "https://l/approvals/servicenow".into(),
                },
            },
        },
        ticket: None,
        created_at: now,
        updated_at: now,
        due_at: now,
        decided_by: None,
        decided_at: None,
        notes: None,
        queued: false,
        last_error: None,
        claim_until: None,
    }
}

async fn in_state(store: &dyn StateStore, filter: StateFilter) -> Vec<String> {
    store::list(store, Some(filter))
        .await
        .expect("list")
        .into_iter()
        .map(|r| r.request_id)
        .collect()
}

pub async fn run_approval_store_suite(store: Arc<dyn StateStore>, now: DateTime<Utc>) {
    let s = store.as_ref();
    // A unique user per run: the suite may share a table with other runs.
    let user = format!("u{}", uuid::Uuid::new_v4().simple());
    let first = record(&user, "10003", 1, now);

    // Created once: a second create of the same user, app and device fails as a whole.
    store::create(s, &first, None).await.expect("created");
    let rival = record(&user, "10003", 1, now);
    let err = store::create(s, &rival, None).await.expect_err("exists");
    assert!(err.is_condition_failed(), "{err}");
    let second_round = record(&user, "10003", 2, now);
    let err = store::create(s, &second_round, None)
        .await
        .expect_err("the pointer is taken");
    assert!(err.is_condition_failed(), "{err}");
    assert!(
        store::load(s, &second_round.request_id)
            .await
            .expect("read")
            .is_none(),
        "all or nothing"
    );
    let (pointer, pointer_version) = store::target(s, first.user_id(), first.app_id(), "10003")
        .await
        .expect("read")
        .expect("pointer");
    assert_eq!(pointer.request_id, first.request_id);

    // A move from a stale version fails; from the current one it moves the index too.
    let (loaded, version) = store::load(s, &first.request_id)
        .await
        .expect("read")
        .expect("present");
    let mut approved = loaded.clone();
    approved.state = ApprovalState::InstallCommandDispatched;
    let stale = store::save(s, loaded.state, &approved, version + 1).await;
    assert!(stale.expect_err("stale").is_condition_failed());
    assert!(
        in_state(s, StateFilter::Pending)
            .await
            .contains(&first.request_id)
    );
    store::save(s, loaded.state, &approved, version)
        .await
        .expect("moved");
    assert!(
        !in_state(s, StateFilter::Pending)
            .await
            .contains(&first.request_id)
    );
    assert!(
        in_state(s, StateFilter::Approved)
            .await
            .contains(&first.request_id)
    );
    assert_eq!(
        store::approval_for(s, first.user_id(), first.app_id())
            .await
            .expect("read"),
        Some(ApprovalState::InstallCommandDispatched)
    );

    // A new round replaces the pointer only from the version it was read at.
    store::create(s, &second_round, Some(pointer_version))
        .await
        .expect("new round");
    let third = record(&user, "10003", 3, now);
    let err = store::create(s, &third, Some(pointer_version))
        .await
        .expect_err("stale pointer");
    assert!(err.is_condition_failed());

    // Concurrent writers lose no update.
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            let id = second_round.request_id.clone();
            tokio::spawn(async move {
                store::update(store.as_ref(), &id, |r| {
                    r.notes = Some(format!("{}x", r.notes.clone().unwrap_or_default()));
                })
                .await
                .expect("update")
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("task");
    }
    let (after, _) = store::load(s, &second_round.request_id)
        .await
        .expect("read")
        .expect("present");
    assert_eq!(after.notes.as_deref(), Some("xxxxxxxx"));

    // Opposite verdicts racing: exactly one takes effect, and the index agrees.
    let race: Vec<_> = [Verdict::Approved, Verdict::Rejected]
        .into_iter()
        .map(|verdict| {
            let store = store.clone();
            let id = second_round.request_id.clone();
            tokio::spawn(async move {
                let updated = store::update(store.as_ref(), &id, |r| {
                    match on_verdict(r.state, verdict) {
                        Effect::Move(next) => {
                            r.state = next;
                            true
                        }
                        _ => false,
                    }
                })
                .await
                .expect("update");
                matches!(updated, Some((_, true)))
            })
        })
        .collect();
    let mut moved = 0;
    for t in race {
        if t.await.expect("task") {
            moved += 1;
        }
    }
    assert_eq!(moved, 1, "one verdict wins");
    let (final_record, _) = store::load(s, &second_round.request_id)
        .await
        .expect("read")
        .expect("present");
    let approved = in_state(s, StateFilter::Approved).await;
    let rejected = in_state(s, StateFilter::Rejected).await;
    let listed = [
        approved.contains(&second_round.request_id),
        rejected.contains(&second_round.request_id),
    ];
    match final_record.state {
        ApprovalState::InstallCommandDispatched => assert_eq!(listed, [true, false]),
        ApprovalState::Rejected => assert_eq!(listed, [false, true]),
        other => panic!("unexpected state {other:?}"),
    }
    assert!(
        !in_state(s, StateFilter::Pending)
            .await
            .contains(&second_round.request_id)
    );
    assert!(
        store::update(s, "lo-00000000000000000000000000000000", |_| ())
            .await
            .expect("read")
            .is_none()
    );
}
