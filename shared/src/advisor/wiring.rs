//! Building the configured adviser once at start-up (a Lambda's `main`, local mode, the CLI).

use super::error::AdviserConfigError;
use super::settings::{AdviserKind, AdviserSettings};
use super::{Adviser, NoAdviser};
use crate::ports::Secrets;
use std::sync::Arc;

/// The adviser the environment asks for (`LOADOUT_ADVISOR`, default off).
pub async fn adviser_from_env(
    secrets: &dyn Secrets,
) -> Result<Arc<dyn Adviser>, AdviserConfigError> {
    adviser_from_settings(&AdviserSettings::from_env()?, secrets).await
}

/// The adviser `settings` describe; for Bedrock, the pseudonym key comes from `secrets`
/// (`LOADOUT_ADVISOR_PSEUDONYM_KEY`) and credentials and region from the default AWS chain.
pub async fn adviser_from_settings(
    settings: &AdviserSettings,
    secrets: &dyn Secrets,
) -> Result<Arc<dyn Adviser>, AdviserConfigError> {
    match settings.kind {
        AdviserKind::Off => Ok(Arc::new(NoAdviser)),
        AdviserKind::Bedrock => bedrock(settings, secrets).await,
    }
}

#[cfg(feature = "advisor")]
async fn bedrock(
    settings: &AdviserSettings,
    secrets: &dyn Secrets,
) -> Result<Arc<dyn Adviser>, AdviserConfigError> {
    use super::bedrock::{BedrockAdviser, bedrock_client};
    use super::pseudonym::Pseudonymizer;
    use super::settings::env;

    let key = secrets
        .get(env::PSEUDONYM_KEY)
        .await
        .map_err(AdviserConfigError::Secrets)?
        .ok_or(AdviserConfigError::Missing(env::PSEUDONYM_KEY))?;
    let pseudonymizer = Pseudonymizer::new(key.expose().as_bytes())?;
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(region) = &settings.region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    let sdk = loader.load().await;
    let client = bedrock_client(&sdk, settings);
    Ok(Arc::new(BedrockAdviser::new(
        client,
        settings,
        pseudonymizer,
    )?))
}

#[cfg(not(feature = "advisor"))]
async fn bedrock(
    _settings: &AdviserSettings,
    _secrets: &dyn Secrets,
) -> Result<Arc<dyn Adviser>, AdviserConfigError> {
    Err(AdviserConfigError::NotBuiltIn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::NoSecrets;

    #[tokio::test]
    async fn off_gives_the_no_op_adviser() {
        let adviser = adviser_from_settings(&AdviserSettings::default(), &NoSecrets)
            .await
            .expect("adviser");
        assert_eq!(adviser.name(), "off");
    }

    #[tokio::test]
    async fn bedrock_without_a_pseudonym_key_is_refused() {
        let settings = AdviserSettings {
            kind: AdviserKind::Bedrock,
            model_id: Some("m".into()),
            ..AdviserSettings::default()
        };
        let result = adviser_from_settings(&settings, &NoSecrets).await;
        assert!(
            matches!(
                result,
                Err(AdviserConfigError::Missing(_)) | Err(AdviserConfigError::NotBuiltIn)
            ),
            "{:?}",
            result.err()
        );
    }
}
