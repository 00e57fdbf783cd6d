//! The secrets senders authenticate with, read through the `Secrets` port: each setting's value
//! and, during a rotation, its `<NAME>_PREVIOUS` value (see `webhook::secret`). Intake reads them
//! per request (the port caches), so a rotated value needs no restart; start-up checks them all
//! once, so a weak one stops local mode or the Lambda init with its name instead of serving.

use crate::ports::secrets::keys;
use crate::ports::{Secrets, SecretsError};
use crate::webhook::secret::{InvalidSecret, RotatingSecret};

#[derive(Debug, thiserror::Error)]
pub enum InboundSecretError {
    #[error(transparent)]
    Invalid(#[from] InvalidSecret),
    #[error("cannot read {setting}: {source}")]
    Unavailable {
        setting: String,
        #[source]
        source: SecretsError,
    },
}

/// The configured secret `name` with its previous value, `None` when `name` is not set.
pub async fn load(
    secrets: &dyn Secrets,
    name: &'static str,
) -> Result<Option<RotatingSecret>, InboundSecretError> {
    let read = |setting: String| async move {
        secrets
            .get(&setting)
            .await
            .map_err(|source| InboundSecretError::Unavailable { setting, source })
    };
    let Some(current) = read(name.to_owned())
        .await?
        .filter(|v| !v.expose().trim().is_empty())
    else {
        return Ok(None);
    };
    let previous = read(keys::previous(name)).await?;
    Ok(Some(RotatingSecret::new(name, current, previous)?))
}

/// Every inbound secret that is set, checked (length, key format). What is not set is not an
/// error here: its route answers 503 until it is.
pub async fn check_all(secrets: &dyn Secrets) -> Result<(), InboundSecretError> {
    for name in keys::INBOUND {
        load(secrets, name).await?;
    }
    Ok(())
}

#[cfg(all(test, feature = "local"))]
mod tests {
    use super::*;
    use crate::adapters::local::LocalSecrets;
    use std::collections::HashMap;

    fn secrets(values: &[(&str, &str)]) -> LocalSecrets {
        let values: HashMap<String, String> = values
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        LocalSecrets::with_loader(Box::new(move || values.clone()))
    }

    #[tokio::test]
    async fn the_previous_value_is_read_beside_the_current_one() {
        let s = secrets(&[
            (keys::OKTA_AUTHORIZATION, "okta-current-value-1"),
            ("LOADOUT_OKTA_AUTHORIZATION_PREVIOUS", "okta-previous-value"),
        ]);
        let secret = load(&s, keys::OKTA_AUTHORIZATION)
            .await
            .expect("valid")
            .expect("configured");
        assert!(secret.matches(b"okta-previous-value"));
        assert!(
            load(&s, keys::GRAPH_CLIENT_STATE)
                .await
                .expect("ok")
                .is_none()
        );
    }

    #[tokio::test]
    async fn start_up_checks_name_the_weak_setting() {
        let s = secrets(&[
            (keys::OKTA_AUTHORIZATION, "okta-current-value-1"),
            ("LOADOUT_UEM_EVENTS_BASIC_PREVIOUS", "u:p"),
            (keys::UEM_EVENTS_BASIC, "uem-events:long-enough-password"),
        ]);
        let err = check_all(&s).await.expect_err("weak previous value");
        assert!(
            err.to_string()
                .contains("LOADOUT_UEM_EVENTS_BASIC_PREVIOUS"),
            "{err}"
        );
        let fine = secrets(&[(keys::OKTA_AUTHORIZATION, "okta-current-value-1")]);
        assert!(check_all(&fine).await.is_ok());
    }
}
