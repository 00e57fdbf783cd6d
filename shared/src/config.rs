//! Non-secret settings, from environment variables (DESIGN.md, Secrets and settings).

use crate::governance::{Mode, UnknownMode};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Mode(#[from] UnknownMode),
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
    /// One token bucket for every UEM call of the tenant (`LOADOUT_UEM_REQUESTS_PER_MINUTE`).
    pub uem_requests_per_minute: u32,
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
    /// How long audit records of refused inbound requests are kept
    /// (`LOADOUT_AUDIT_REFUSAL_TTL_DAYS`; 0 keeps them for ever). Every other record is kept.
    pub audit_refusal_ttl: Option<Duration>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            mode: Mode::Gated,
            pilot_group: None,
            uem_requests_per_minute: 120,
            directory_requests_per_minute: 600,
            max_receives: 5,
            context_ttl: Duration::from_secs(300),
            idempotency_ttl: Duration::from_secs(7 * 24 * 3600),
            max_body_bytes: 256 * 1024,
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

impl Settings {
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
            uem_requests_per_minute: number(
                "LOADOUT_UEM_REQUESTS_PER_MINUTE",
                lookup("LOADOUT_UEM_REQUESTS_PER_MINUTE"),
                d.uem_requests_per_minute,
            )?,
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
    fn a_bad_number_names_the_variable() {
        let err = Settings::from_lookup(|n| {
            (n == "LOADOUT_UEM_REQUESTS_PER_MINUTE").then(|| "lots".to_owned())
        })
        .expect_err("invalid");
        assert!(err.to_string().contains("LOADOUT_UEM_REQUESTS_PER_MINUTE"));
    }
}
