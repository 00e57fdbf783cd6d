//! The adviser's settings, from `LOADOUT_ADVISOR*` environment variables (plain settings; the
//! pseudonym key is a secret and comes through the `Secrets` port).

use super::cost::Prices;
use super::error::AdviserConfigError;
use super::prompt::PromptLimits;
use std::time::Duration;

/// Every name the adviser reads.
pub mod env {
    /// `off` (default) or `bedrock`.
    pub const ADVISOR: &str = "LOADOUT_ADVISOR";
    /// The Bedrock model id or inference profile id/ARN (required for `bedrock`).
    pub const MODEL_ID: &str = "LOADOUT_ADVISOR_MODEL_ID";
    /// The region of the model; unset, the function's own region (`AWS_REGION`).
    pub const REGION: &str = "LOADOUT_ADVISOR_REGION";
    /// Overrides the Bedrock Runtime endpoint, e.g. the fake one in tests. Never in a deployment.
    pub const ENDPOINT_URL: &str = "LOADOUT_ADVISOR_ENDPOINT_URL";
    /// US dollars per 1,000 input tokens of the model (for the cost log).
    pub const PRICE_INPUT_PER_1K: &str = "LOADOUT_ADVISOR_PRICE_INPUT_PER_1K";
    /// US dollars per 1,000 output tokens of the model.
    pub const PRICE_OUTPUT_PER_1K: &str = "LOADOUT_ADVISOR_PRICE_OUTPUT_PER_1K";
    /// The whole budget of one piece of advice, retries included, in milliseconds.
    pub const TIMEOUT_MS: &str = "LOADOUT_ADVISOR_TIMEOUT_MS";
    /// Calls per piece of advice when Bedrock throttles (1 = no retry).
    pub const MAX_ATTEMPTS: &str = "LOADOUT_ADVISOR_MAX_ATTEMPTS";
    /// The most apps one reply may recommend.
    pub const MAX_RECOMMENDATIONS: &str = "LOADOUT_ADVISOR_MAX_RECOMMENDATIONS";
    /// `inferenceConfig.maxTokens`.
    pub const MAX_TOKENS: &str = "LOADOUT_ADVISOR_MAX_TOKENS";
    /// Peer usage of a smaller cohort is not sent.
    pub const MIN_PEER_COHORT: &str = "LOADOUT_ADVISOR_MIN_PEER_COHORT";
    /// The secret key of the pseudonyms (at least 16 bytes), read through the `Secrets` port:
    /// in Secrets Manager's JSON secret in AWS, an environment variable in local mode.
    pub const PSEUDONYM_KEY: &str = "LOADOUT_ADVISOR_PSEUDONYM_KEY";
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AdviserKind {
    #[default]
    Off,
    Bedrock,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AdviserSettings {
    pub kind: AdviserKind,
    pub model_id: Option<String>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
    /// `None` when no price is configured: tokens are still logged, cost is not.
    pub prices: Option<Prices>,
    pub timeout: Duration,
    pub max_attempts: u32,
    pub limits: PromptLimits,
}

impl Default for AdviserSettings {
    fn default() -> Self {
        Self {
            kind: AdviserKind::Off,
            model_id: None,
            region: None,
            endpoint_url: None,
            prices: None,
            timeout: Duration::from_secs(10),
            max_attempts: 3,
            limits: PromptLimits::default(),
        }
    }
}

fn invalid(name: &'static str, expected: &'static str, value: &str) -> AdviserConfigError {
    AdviserConfigError::Invalid {
        name,
        expected,
        value: value.to_owned(),
    }
}

fn whole<T: std::str::FromStr + PartialOrd + From<u8>>(
    name: &'static str,
    value: Option<String>,
    default: T,
) -> Result<T, AdviserConfigError> {
    match value {
        None => Ok(default),
        Some(v) => match v.parse::<T>() {
            Ok(n) if n >= T::from(1) => Ok(n),
            _ => Err(invalid(name, "a whole number of at least 1", &v)),
        },
    }
}

fn price(name: &'static str, value: Option<String>) -> Result<Option<f64>, AdviserConfigError> {
    match value {
        None => Ok(None),
        Some(v) => match v.parse::<f64>() {
            Ok(p) if p.is_finite() && p >= 0.0 => Ok(Some(p)),
            _ => Err(invalid(name, "a price in US dollars, 0 or more", &v)),
        },
    }
}

impl AdviserSettings {
    pub fn from_env() -> Result<Self, AdviserConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `lookup` (the environment, or a map in tests). Empty values
    /// count as unset.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, AdviserConfigError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let d = Self::default();
        let kind = match get(env::ADVISOR).map(|v| v.to_ascii_lowercase()) {
            None => AdviserKind::Off,
            Some(v) if v == "off" => AdviserKind::Off,
            Some(v) if v == "bedrock" => AdviserKind::Bedrock,
            Some(v) => return Err(invalid(env::ADVISOR, "off or bedrock", &v)),
        };
        let input = price(env::PRICE_INPUT_PER_1K, get(env::PRICE_INPUT_PER_1K))?;
        let output = price(env::PRICE_OUTPUT_PER_1K, get(env::PRICE_OUTPUT_PER_1K))?;
        let prices = (input.is_some() || output.is_some()).then(|| Prices {
            input_per_1k: input.unwrap_or(0.0),
            output_per_1k: output.unwrap_or(0.0),
        });
        let settings = Self {
            kind,
            model_id: get(env::MODEL_ID),
            region: get(env::REGION),
            endpoint_url: get(env::ENDPOINT_URL),
            prices,
            timeout: Duration::from_millis(whole(
                env::TIMEOUT_MS,
                get(env::TIMEOUT_MS),
                d.timeout.as_millis() as u64,
            )?),
            max_attempts: whole(env::MAX_ATTEMPTS, get(env::MAX_ATTEMPTS), d.max_attempts)?,
            limits: PromptLimits {
                max_recommendations: whole(
                    env::MAX_RECOMMENDATIONS,
                    get(env::MAX_RECOMMENDATIONS),
                    d.limits.max_recommendations as u64,
                )? as usize,
                max_tokens: whole(env::MAX_TOKENS, get(env::MAX_TOKENS), d.limits.max_tokens)?,
                min_peer_cohort: whole(
                    env::MIN_PEER_COHORT,
                    get(env::MIN_PEER_COHORT),
                    d.limits.min_peer_cohort,
                )?,
            },
        };
        if settings.kind == AdviserKind::Bedrock && settings.model_id.is_none() {
            return Err(AdviserConfigError::Missing(env::MODEL_ID));
        }
        Ok(settings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn read(pairs: &[(&str, &str)]) -> Result<AdviserSettings, AdviserConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        AdviserSettings::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn off_by_default() {
        let s = read(&[]).expect("settings");
        assert_eq!(s.kind, AdviserKind::Off);
        assert_eq!(s.prices, None);
    }

    #[test]
    fn bedrock_needs_a_model_and_reads_prices_and_limits() {
        assert!(matches!(
            read(&[(env::ADVISOR, "bedrock")]),
            Err(AdviserConfigError::Missing(env::MODEL_ID))
        ));
        let s = read(&[
            (env::ADVISOR, "Bedrock"),
            (env::MODEL_ID, "anthropic.claude-3-haiku-20240307-v1:0"),
            (env::REGION, "eu-central-1"),
            (env::PRICE_INPUT_PER_1K, "0.00025"),
            (env::PRICE_OUTPUT_PER_1K, "0.00125"),
            (env::TIMEOUT_MS, "4000"),
            (env::MAX_ATTEMPTS, "2"),
            (env::MAX_RECOMMENDATIONS, "3"),
        ])
        .expect("settings");
        assert_eq!(s.kind, AdviserKind::Bedrock);
        assert_eq!(s.region.as_deref(), Some("eu-central-1"));
        assert_eq!(
            s.prices,
            Some(Prices {
                input_per_1k: 0.00025,
                output_per_1k: 0.00125
            })
        );
        assert_eq!(s.timeout, Duration::from_secs(4));
        assert_eq!(s.max_attempts, 2);
        assert_eq!(s.limits.max_recommendations, 3);
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (name, value) in [
            (env::ADVISOR, "openai"),
            (env::PRICE_INPUT_PER_1K, "-1"),
            (env::TIMEOUT_MS, "0"),
            (env::MAX_ATTEMPTS, "many"),
        ] {
            match read(&[(name, value)]) {
                Err(AdviserConfigError::Invalid { name: n, .. }) => assert_eq!(n, name),
                other => panic!("{name}={value}: {other:?}"),
            }
        }
    }
}
