//! Non-secret settings, from environment variables (DESIGN.md, Secrets and settings).

use crate::governance::{Mode, UnknownMode};
use crate::identity::{UnknownMatchAttribute, UserMatch};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Mode(#[from] UnknownMode),
    #[error(transparent)]
    UserMatch(#[from] UnknownMatchAttribute),
    #[error("{name} must be {expected}, not {value:?}")]
    Invalid {
        name: &'static str,
        expected: &'static str,
        value: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub mode: Mode,
    /// Only members of this directory group are acted on (`LOADOUT_PILOT_GROUP`).
    pub pilot_group: Option<String>,
    /// Only these apps are acted on (`LOADOUT_PILOT_APPS`, comma-separated; empty: all).
    pub pilot_apps: Vec<crate::domain::AppId>,
    /// How long new-hire bundles and removals wait for an objection
    /// (`LOADOUT_REVIEW_WINDOW_HOURS`; 0: no review window) and which of them
    /// (`LOADOUT_REVIEW_SCOPE`: `joiners`, `removals`, or both, comma-separated).
    pub review_window: Option<crate::governance::ReviewWindow>,
    /// The blast-radius breaker (`LOADOUT_BREAKER_MAX_USERS`, `LOADOUT_BREAKER_MAX_SHARE`,
    /// `LOADOUT_BREAKER_WINDOW_MINUTES`).
    pub breaker: crate::governance::BreakerPolicy,
    /// One token bucket for every UEM call of the tenant (`LOADOUT_UEM_REQUESTS_PER_MINUTE`).
    pub uem_requests_per_minute: u32,
    /// The organization group that manages the smart groups Loadout creates
    /// (`LOADOUT_UEM_ORGANIZATION_GROUP_ID`); unset, UEM puts them in the API admin's group.
    pub uem_organization_group_id: Option<String>,
    /// The enricher's reads of each directory (Graph, BambooHR, Okta), a bucket per source apart
    /// from UEM's (`LOADOUT_DIRECTORY_REQUESTS_PER_MINUTE`; 0: unlimited).
    pub directory_requests_per_minute: u32,
    /// Receives before a message is dead-lettered (`LOADOUT_MAX_RECEIVES`).
    pub max_receives: u32,
    /// How long enrichment may reuse a user's context (`LOADOUT_CONTEXT_TTL_SECONDS`).
    pub context_ttl: Duration,
    /// How long inbound event ids are remembered for deduplication.
    pub idempotency_ttl: Duration,
    /// Largest webhook body accepted (`LOADOUT_MAX_BODY_BYTES`).
    pub max_body_bytes: usize,
    /// How a person is matched to their UEM enrollment user (`LOADOUT_UEM_USER_MATCH`).
    pub user_match: UserMatch,
    /// How long the first executor to find an app's pending changes waits for more before it
    /// writes them (`LOADOUT_EXECUTE_DEBOUNCE_MS`): changes from concurrent invocations share one
    /// group write.
    pub execute_debounce: Duration,
    /// The longest a flush waits for changes that keep arriving (`LOADOUT_EXECUTE_MAX_WAIT_MS`):
    /// a backlog goes out in a few large writes, but never later than this.
    pub execute_max_wait: Duration,
    /// The largest a Loadout group grows before the app's groups are split into shards
    /// (`LOADOUT_GROUP_SHARD_SIZE`); a PUT re-sends one shard, not the whole population.
    pub group_shard_size: usize,
    /// How old the UEM inventory may get before the sweep reads it again
    /// (`LOADOUT_INVENTORY_REFRESH_SECONDS`).
    pub inventory_refresh: Duration,
    /// How often the sweep refreshes the relevance model's suggestions (`LOADOUT_SUGGEST_HOURS`;
    /// 0 turns suggestions off).
    pub suggest_every: Option<Duration>,
    /// How long audit records of refused inbound requests are kept
    /// (`LOADOUT_AUDIT_REFUSAL_TTL_DAYS`; 0 keeps them for ever). Every other record is kept.
    pub audit_refusal_ttl: Option<Duration>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            mode: Mode::Gated,
            pilot_group: None,
            pilot_apps: Vec::new(),
            review_window: None,
            breaker: crate::governance::BreakerPolicy::default(),
            uem_requests_per_minute: 120,
            uem_organization_group_id: None,
            directory_requests_per_minute: 600,
            max_receives: 5,
            context_ttl: Duration::from_secs(300),
            idempotency_ttl: Duration::from_secs(7 * 24 * 3600),
            max_body_bytes: 256 * 1024,
            user_match: UserMatch::default(),
            execute_debounce: Duration::from_millis(2000),
            execute_max_wait: Duration::from_secs(30),
            group_shard_size: 5_000,
            inventory_refresh: Duration::from_secs(6 * 3600),
            suggest_every: Some(Duration::from_secs(24 * 3600)),
            audit_refusal_ttl: Some(Duration::from_secs(30 * DAY_SECONDS)),
        }
    }
}

const DAY_SECONDS: u64 = 24 * 3600;

fn number<T: std::str::FromStr>(
    name: &'static str,
    value: Option<String>,
    default: T,
) -> Result<T, ConfigError> {
    match value {
        None => Ok(default),
        Some(v) if v.trim().is_empty() => Ok(default),
        Some(v) => v.trim().parse().map_err(|_| ConfigError::Invalid {
            name,
            expected: "a positive whole number",
            value: v,
        }),
    }
}

fn review_window(
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<Option<crate::governance::ReviewWindow>, ConfigError> {
    let hours: u64 = number(
        "LOADOUT_REVIEW_WINDOW_HOURS",
        lookup("LOADOUT_REVIEW_WINDOW_HOURS"),
        0,
    )?;
    if hours == 0 {
        return Ok(None);
    }
    let scope = lookup("LOADOUT_REVIEW_SCOPE").unwrap_or_else(|| "joiners,removals".into());
    let mut window = crate::governance::ReviewWindow {
        hold: Duration::from_secs(hours * 3600),
        new_hire_bundles: false,
        removals: false,
    };
    for part in scope.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.to_ascii_lowercase().as_str() {
            "joiners" | "new-hires" | "new_hires" => window.new_hire_bundles = true,
            "removals" => window.removals = true,
            _ => {
                return Err(ConfigError::Invalid {
                    name: "LOADOUT_REVIEW_SCOPE",
                    expected: "joiners, removals, or both",
                    value: scope.clone(),
                });
            }
        }
    }
    Ok(Some(window))
}

fn breaker(
    lookup: &impl Fn(&str) -> Option<String>,
    d: crate::governance::BreakerPolicy,
) -> Result<crate::governance::BreakerPolicy, ConfigError> {
    let share = match lookup("LOADOUT_BREAKER_MAX_SHARE") {
        Some(v) if !v.trim().is_empty() => v
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|s| (0.0..=1.0).contains(s))
            .ok_or(ConfigError::Invalid {
                name: "LOADOUT_BREAKER_MAX_SHARE",
                expected: "a share between 0 and 1",
                value: v,
            })?,
        _ => d.max_share,
    };
    let (mut removals, mut assignments) = (d.removals, d.assignments);
    if let Some(watch) = lookup("LOADOUT_BREAKER_WATCH").filter(|w| !w.trim().is_empty()) {
        (removals, assignments) = (false, false);
        for part in watch.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part {
                "removals" => removals = true,
                "assignments" => assignments = true,
                _ => {
                    return Err(ConfigError::Invalid {
                        name: "LOADOUT_BREAKER_WATCH",
                        expected: "removals, assignments, or both, comma-separated",
                        value: watch.clone(),
                    });
                }
            }
        }
    }
    Ok(crate::governance::BreakerPolicy {
        removals,
        assignments,
        max_users: number(
            "LOADOUT_BREAKER_MAX_USERS",
            lookup("LOADOUT_BREAKER_MAX_USERS"),
            d.max_users,
        )?,
        max_share: share,
        window: Duration::from_secs(
            60 * number(
                "LOADOUT_BREAKER_WINDOW_MINUTES",
                lookup("LOADOUT_BREAKER_WINDOW_MINUTES"),
                d.window.as_secs() / 60,
            )?,
        ),
    })
}

impl Settings {
    /// The gates these settings put in force.
    pub fn governance(&self) -> crate::governance::Governance {
        crate::governance::Governance {
            mode: self.mode,
            pilot: crate::governance::Pilot {
                group: self.pilot_group.clone(),
                apps: self.pilot_apps.clone(),
            },
            review_window: self.review_window,
            breaker: self.breaker,
        }
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let d = Settings::default();
        Ok(Self {
            mode: match lookup("LOADOUT_MODE") {
                Some(m) if !m.trim().is_empty() => m.parse()?,
                _ => d.mode,
            },
            pilot_group: lookup("LOADOUT_PILOT_GROUP").filter(|g| !g.trim().is_empty()),
            pilot_apps: lookup("LOADOUT_PILOT_APPS")
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(crate::domain::AppId::new)
                .collect(),
            review_window: review_window(&lookup)?,
            breaker: breaker(&lookup, d.breaker)?,
            uem_requests_per_minute: number(
                "LOADOUT_UEM_REQUESTS_PER_MINUTE",
                lookup("LOADOUT_UEM_REQUESTS_PER_MINUTE"),
                d.uem_requests_per_minute,
            )?,
            uem_organization_group_id: lookup("LOADOUT_UEM_ORGANIZATION_GROUP_ID")
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty()),
            directory_requests_per_minute: number(
                "LOADOUT_DIRECTORY_REQUESTS_PER_MINUTE",
                lookup("LOADOUT_DIRECTORY_REQUESTS_PER_MINUTE"),
                d.directory_requests_per_minute,
            )?,
            max_receives: number(
                "LOADOUT_MAX_RECEIVES",
                lookup("LOADOUT_MAX_RECEIVES"),
                d.max_receives,
            )?,
            context_ttl: Duration::from_secs(number(
                "LOADOUT_CONTEXT_TTL_SECONDS",
                lookup("LOADOUT_CONTEXT_TTL_SECONDS"),
                d.context_ttl.as_secs(),
            )?),
            idempotency_ttl: d.idempotency_ttl,
            max_body_bytes: number(
                "LOADOUT_MAX_BODY_BYTES",
                lookup("LOADOUT_MAX_BODY_BYTES"),
                d.max_body_bytes,
            )?,
            user_match: match lookup("LOADOUT_UEM_USER_MATCH") {
                Some(m) if !m.trim().is_empty() => m.parse()?,
                _ => d.user_match,
            },
            execute_debounce: Duration::from_millis(number(
                "LOADOUT_EXECUTE_DEBOUNCE_MS",
                lookup("LOADOUT_EXECUTE_DEBOUNCE_MS"),
                d.execute_debounce.as_millis() as u64,
            )?),
            execute_max_wait: Duration::from_millis(number(
                "LOADOUT_EXECUTE_MAX_WAIT_MS",
                lookup("LOADOUT_EXECUTE_MAX_WAIT_MS"),
                d.execute_max_wait.as_millis() as u64,
            )?),
            group_shard_size: number(
                "LOADOUT_GROUP_SHARD_SIZE",
                lookup("LOADOUT_GROUP_SHARD_SIZE"),
                d.group_shard_size,
            )?
            .max(1),
            inventory_refresh: Duration::from_secs(number(
                "LOADOUT_INVENTORY_REFRESH_SECONDS",
                lookup("LOADOUT_INVENTORY_REFRESH_SECONDS"),
                d.inventory_refresh.as_secs(),
            )?),
            suggest_every: match number::<u64>(
                "LOADOUT_SUGGEST_HOURS",
                lookup("LOADOUT_SUGGEST_HOURS"),
                24,
            )? {
                0 => None,
                hours => Some(Duration::from_secs(hours.saturating_mul(3600))),
            },
            audit_refusal_ttl: match lookup("LOADOUT_AUDIT_REFUSAL_TTL_DAYS") {
                None => d.audit_refusal_ttl,
                value => match number::<u64>("LOADOUT_AUDIT_REFUSAL_TTL_DAYS", value, 30)? {
                    0 => None,
                    days => Some(Duration::from_secs(days.saturating_mul(DAY_SECONDS))),
                },
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_gated_at_120_requests_per_minute() {
        let s = Settings::from_lookup(|_| None).expect("defaults");
        assert_eq!(s.mode, Mode::Gated);
        assert_eq!(s.uem_requests_per_minute, 120);
    }

    #[test]
    fn refusals_are_kept_30_days_unless_configured_and_0_keeps_them() {
        let days = |v: Option<&str>| {
            Settings::from_lookup(|n| {
                (n == "LOADOUT_AUDIT_REFUSAL_TTL_DAYS")
                    .then(|| v.map(str::to_owned))
                    .flatten()
            })
            .expect("valid")
            .audit_refusal_ttl
        };
        assert_eq!(days(None), Some(Duration::from_secs(30 * 86_400)));
        assert_eq!(days(Some("7")), Some(Duration::from_secs(7 * 86_400)));
        assert_eq!(days(Some("0")), None);
    }

    #[test]
    fn the_breaker_watches_removals_unless_told_otherwise() {
        let watch = |v: Option<&str>| {
            Settings::from_lookup(|n| {
                (n == "LOADOUT_BREAKER_WATCH")
                    .then(|| v.map(str::to_owned))
                    .flatten()
            })
            .map(|s| (s.breaker.removals, s.breaker.assignments))
        };
        assert_eq!(watch(None).expect("default"), (true, false));
        assert_eq!(
            watch(Some("removals, assignments")).expect("both"),
            (true, true)
        );
        assert_eq!(watch(Some("assignments")).expect("one"), (false, true));
        let err = watch(Some("everything")).expect_err("unknown");
        assert!(err.to_string().contains("LOADOUT_BREAKER_WATCH"));
    }

    #[test]
    fn a_bad_number_names_the_variable() {
        let err = Settings::from_lookup(|n| {
            (n == "LOADOUT_UEM_REQUESTS_PER_MINUTE").then(|| "lots".to_owned())
        })
        .expect_err("invalid");
        assert!(err.to_string().contains("LOADOUT_UEM_REQUESTS_PER_MINUTE"));
    }

    #[test]
    fn the_organization_group_is_read_trimmed_and_blank_is_unset() {
        let og = |v: &str| {
            let v = v.to_owned();
            Settings::from_lookup(move |n| {
                (n == "LOADOUT_UEM_ORGANIZATION_GROUP_ID").then(|| v.clone())
            })
            .expect("valid")
            .uem_organization_group_id
        };
        assert_eq!(og(" 570 "), Some("570".to_owned()));
        assert_eq!(og("  "), None);
        assert_eq!(Settings::default().uem_organization_group_id, None);
    }
}
