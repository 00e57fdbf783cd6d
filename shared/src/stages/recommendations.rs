//! Recommendations: actions the gates did not run now, kept where admins can act on them. One
//! record per user, app and direction: open while it waits (for approval, for the review window
//! to pass, or only as a suggestion), approved or rejected by an admin (who, when, why), done once
//! an approval ran. The decision stage writes them; `loadout recommendations` lists, approves and
//! rejects them; an approved one runs at the user's next decision, through the executor.

use super::StageError;
use crate::domain::{Action, ActionKind, AppId, UserId};
use crate::governance::Gate;
use crate::keys;
use crate::ports::{Condition, StateStore, StateStoreExt};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Where a recommendation came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// The policies want it; a gate held it.
    Policy,
    /// The relevance model suggests it (peers' usage).
    Model,
    /// The LLM adviser suggests it.
    Adviser,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Policy => "policy",
            Origin::Model => "model",
            Origin::Adviser => "adviser",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Open,
    Approved,
    Rejected,
    /// An approval ran.
    Done,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Open => "open",
            State::Approved => "approved",
            State::Rejected => "rejected",
            State::Done => "done",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    /// Short and stable per user, app and direction: what admins type.
    pub id: String,
    pub action: Action,
    pub gate: Gate,
    pub state: State,
    pub origin: Origin,
    /// The model's or adviser's evidence ("used by 14 of 17 Account Executives in Austin").
    #[serde(default)]
    pub evidence: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default)]
    pub decided_by: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
}

/// The stable id of the recommendation for one user, app and direction.
pub fn id_of(user: &UserId, app: &AppId, kind: ActionKind) -> String {
    let mut hash = Sha256::new();
    for part in [user.as_str(), app.as_str(), kind.as_str()] {
        hash.update(part.as_bytes());
        hash.update([0u8]);
    }
    format!("rec-{}", hex::encode(&hash.finalize()[..5]))
}

/// Every recommendation of one user.
pub async fn of_user(
    store: &dyn StateStore,
    user: &UserId,
) -> Result<Vec<(Recommendation, u64)>, StageError> {
    let mut out = Vec::new();
    for item in store
        .query(keys::RECOMMENDATIONS, &keys::recommendations_of(user))
        .await?
    {
        out.push((item.decode()?, item.version));
    }
    Ok(out)
}

/// Every recommendation (for `loadout recommendations list` and the sweep).
pub async fn all(store: &dyn StateStore) -> Result<Vec<Recommendation>, StageError> {
    let mut out = Vec::new();
    for item in store.query(keys::RECOMMENDATIONS, "").await? {
        out.push(item.decode()?);
    }
    Ok(out)
}

/// Records that `action` waits at `gate` (a new record, or the open one brought up to date). An
/// admin's approval or rejection is never overwritten here.
pub async fn hold(
    store: &dyn StateStore,
    action: &Action,
    gate: &Gate,
    origin: Origin,
    evidence: Option<String>,
    now: DateTime<Utc>,
) -> Result<Recommendation, StageError> {
    let (pk, sk) = keys::recommendation(&action.user_id, &action.app_id, action.kind);
    for _ in 0..8 {
        let current = store.get_as::<Recommendation>(&pk, &sk).await?;
        let (record, condition) = match current {
            Some((r, _)) if matches!(r.state, State::Approved | State::Rejected) => {
                return Ok(r);
            }
            Some((mut r, v)) => {
                // A held action keeps its start (the review window counts from it).
                let unchanged = r.state == State::Open && r.gate.as_str() == gate.as_str();
                r.action = action.clone();
                if !unchanged {
                    r.gate = gate.clone();
                    r.created_at = now;
                }
                r.state = State::Open;
                r.origin = origin;
                r.evidence = evidence.clone().or(r.evidence);
                r.updated_at = now;
                (r, Condition::Version(v))
            }
            None => (
                Recommendation {
                    id: id_of(&action.user_id, &action.app_id, action.kind),
                    action: action.clone(),
                    gate: gate.clone(),
                    state: State::Open,
                    origin,
                    evidence: evidence.clone(),
                    created_at: now,
                    updated_at: now,
                    decided_by: None,
                    note: None,
                },
                Condition::NotExists,
            ),
        };
        match store.put_as(&pk, &sk, &record, None, condition).await {
            Ok(_) => return Ok(record),
            Err(e) if e.is_condition_failed() => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(StageError::Retryable(
        "a recommendation keeps changing concurrently".into(),
    ))
}

/// An approved recommendation ran: it is done.
pub async fn done(
    store: &dyn StateStore,
    rec: &Recommendation,
    now: DateTime<Utc>,
) -> Result<(), StageError> {
    let (pk, sk) = keys::recommendation(&rec.action.user_id, &rec.action.app_id, rec.action.kind);
    let mut next = rec.clone();
    next.state = State::Done;
    next.updated_at = now;
    store.put_as(&pk, &sk, &next, None, Condition::None).await?;
    Ok(())
}

/// Drops the user's open recommendations the latest decision no longer proposes, and done ones
/// (their approval ran). Approvals waiting to run and rejections stand while the action is still
/// proposed.
pub async fn forget_others(
    store: &dyn StateStore,
    user: &UserId,
    proposed: &[(AppId, ActionKind)],
) -> Result<(), StageError> {
    for (rec, version) in of_user(store, user).await? {
        let still = proposed
            .iter()
            .any(|(a, k)| a == &rec.action.app_id && *k == rec.action.kind);
        if still && rec.state != State::Done {
            continue;
        }
        // Suggestions (the model's, the adviser's) are not the decision's to forget: the
        // suggestion refresh withdraws them; a decision only clears them once they ran.
        if rec.origin != Origin::Policy && rec.state != State::Done {
            continue;
        }
        let (pk, sk) =
            keys::recommendation(&rec.action.user_id, &rec.action.app_id, rec.action.kind);
        match store.delete(&pk, &sk, Condition::Version(version)).await {
            Ok(()) => {}
            Err(e) if e.is_condition_failed() => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// An admin's verdict on one recommendation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Approve,
    Reject,
}

/// Records an admin's verdict (compare-and-swap); `None` when the id is unknown, the record as
/// it now is otherwise (unchanged when it was already decided).
pub async fn decide(
    store: &dyn StateStore,
    id: &str,
    verdict: Verdict,
    by: &str,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Option<Recommendation>, StageError> {
    let Some(found) = all(store).await?.into_iter().find(|r| r.id == id) else {
        return Ok(None);
    };
    let (pk, sk) = keys::recommendation(
        &found.action.user_id,
        &found.action.app_id,
        found.action.kind,
    );
    for _ in 0..8 {
        let Some((mut rec, version)) = store.get_as::<Recommendation>(&pk, &sk).await? else {
            return Ok(None);
        };
        if rec.state != State::Open {
            return Ok(Some(rec));
        }
        rec.state = match verdict {
            Verdict::Approve => State::Approved,
            Verdict::Reject => State::Rejected,
        };
        rec.decided_by = Some(by.to_owned());
        rec.note = note.map(str::to_owned);
        rec.updated_at = now;
        match store
            .put_as(&pk, &sk, &rec, None, Condition::Version(version))
            .await
        {
            Ok(_) => return Ok(Some(rec)),
            Err(e) if e.is_condition_failed() => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(StageError::Retryable(format!(
        "recommendation {id} keeps changing concurrently"
    )))
}

/// A filter over recommendations, as `--all-matching` and `list` take it:
/// `app=gong,user=jdoe,kind=remove,state=open,origin=model,gate=await_approval`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub app: Option<AppId>,
    pub user: Option<UserId>,
    pub kind: Option<ActionKind>,
    pub state: Option<State>,
    pub origin: Option<Origin>,
    pub gate: Option<String>,
}

#[derive(Debug, thiserror::Error)]
#[error(
    "bad filter {0:?}: use key=value pairs separated by commas (app, user, kind, state, origin, gate)"
)]
pub struct BadFilter(pub String);

impl std::str::FromStr for Filter {
    type Err = BadFilter;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut f = Filter::default();
        for pair in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v) = pair
                .split_once('=')
                .ok_or_else(|| BadFilter(pair.to_owned()))?;
            let v = v.trim();
            match k.trim() {
                "app" => f.app = Some(AppId::new(v)),
                "user" => f.user = Some(UserId::new(v)),
                "kind" => {
                    f.kind = Some(match v {
                        "assign" => ActionKind::Assign,
                        "remove" => ActionKind::Remove,
                        _ => return Err(BadFilter(pair.to_owned())),
                    })
                }
                "state" => {
                    f.state = Some(match v {
                        "open" => State::Open,
                        "approved" => State::Approved,
                        "rejected" => State::Rejected,
                        "done" => State::Done,
                        _ => return Err(BadFilter(pair.to_owned())),
                    })
                }
                "origin" => {
                    f.origin = Some(match v {
                        "policy" => Origin::Policy,
                        "model" => Origin::Model,
                        "adviser" => Origin::Adviser,
                        _ => return Err(BadFilter(pair.to_owned())),
                    })
                }
                "gate" => f.gate = Some(v.to_owned()),
                _ => return Err(BadFilter(pair.to_owned())),
            }
        }
        Ok(f)
    }
}

impl Filter {
    pub fn matches(&self, r: &Recommendation) -> bool {
        self.app.as_ref().is_none_or(|a| a == &r.action.app_id)
            && self.user.as_ref().is_none_or(|u| u == &r.action.user_id)
            && self.kind.is_none_or(|k| k == r.action.kind)
            && self.state.is_none_or(|s| s == r.state)
            && self.origin.is_none_or(|o| o == r.origin)
            && self.gate.as_deref().is_none_or(|g| g == r.gate.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_short_stable_and_distinct_per_direction() {
        let (u, a) = (UserId::new("jdoe"), AppId::new("gong"));
        let assign = id_of(&u, &a, ActionKind::Assign);
        assert_eq!(assign, id_of(&u, &a, ActionKind::Assign));
        assert_ne!(assign, id_of(&u, &a, ActionKind::Remove));
        assert_eq!(assign.len(), 14);
    }

    #[test]
    fn filters_parse_and_refuse_nonsense() {
        let f: Filter = "app=gong, kind=remove,state=open".parse().expect("filter");
        assert_eq!(f.app, Some(AppId::new("gong")));
        assert_eq!(f.kind, Some(ActionKind::Remove));
        assert!("app".parse::<Filter>().is_err());
        assert!("colour=red".parse::<Filter>().is_err());
        assert!("kind=sometimes".parse::<Filter>().is_err());
    }
}
