//! A directory reader's secret (Graph client secret, BambooHR API key, Okta API token), read
//! again from the secret store when the directory refuses it. A rotation in Secrets Manager then
//! reaches a warm container at its next refusal instead of failing every read as permanent until
//! a redeploy. The reader re-reads once per call, so a secret that is wrong in the store too
//! still ends as `Unauthorized` after one extra request, never in a loop.

use super::SourceError;
use crate::ports::{SecretString, Secrets};
use std::sync::{Arc, RwLock};

pub(super) struct SourceCredential {
    source_name: &'static str,
    current: RwLock<SecretString>,
    /// Where the value comes from, and under which key; `None`: a fixed value (tests, simulators).
    store: Option<(Arc<dyn Secrets>, &'static str)>,
    /// Held while re-reading, so concurrent refusals cause one read of the store.
    reloading: tokio::sync::Mutex<()>,
}

impl SourceCredential {
    pub fn fixed(source_name: &'static str, value: SecretString) -> Self {
        Self {
            source_name,
            current: RwLock::new(value),
            store: None,
            reloading: tokio::sync::Mutex::new(()),
        }
    }

    /// Re-read from `secrets` under `key` after a refusal.
    pub fn read_from(mut self, secrets: Arc<dyn Secrets>, key: &'static str) -> Self {
        self.store = Some((secrets, key));
        self
    }

    pub fn current(&self) -> SecretString {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Reads the secret again after the directory refused `refused`; true when a different value
    /// is in use now (worth one more try), false when the store holds the same value or none.
    pub async fn reload(&self, refused: &SecretString) -> Result<bool, SourceError> {
        let Some((secrets, key)) = &self.store else {
            return Ok(false);
        };
        let _turn = self.reloading.lock().await;
        if self.current() != *refused {
            // Another call re-read it while this one waited.
            return Ok(true);
        }
        // The store being unreachable is worth a redelivery, unlike the refusal itself.
        let unreachable = |e: crate::ports::SecretsError| SourceError::Transport {
            source_name: self.source_name,
            detail: format!("re-reading {key} from the secret: {e}"),
        };
        secrets.refresh().await.map_err(unreachable)?;
        let Some(fresh) = secrets.get(key).await.map_err(unreachable)? else {
            return Ok(false);
        };
        if fresh == *refused {
            return Ok(false);
        }
        tracing::info!(
            source = self.source_name,
            key,
            "directory credential changed in the secret; using the new one"
        );
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = fresh;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::SecretsError;
    use async_trait::async_trait;
    use std::sync::Mutex;

    /// A secret store whose value a test rotates; `refresh` counts the re-reads.
    struct Rotating {
        value: Mutex<String>,
        refreshes: Mutex<u32>,
    }

    #[async_trait]
    impl Secrets for Rotating {
        async fn get(&self, key: &str) -> Result<Option<SecretString>, SecretsError> {
            assert_eq!(key, "KEY");
            let v = self.value.lock().unwrap_or_else(|p| p.into_inner());
            Ok(Some(SecretString::new(v.as_str())))
        }

        async fn refresh(&self) -> Result<(), SecretsError> {
            *self.refreshes.lock().unwrap_or_else(|p| p.into_inner()) += 1;
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_refused_value_is_replaced_by_what_the_store_holds_now() {
        let store = Arc::new(Rotating {
            value: Mutex::new("old".into()),
            refreshes: Mutex::new(0),
        });
        let credential = SourceCredential::fixed("graph", SecretString::new("old"))
            .read_from(store.clone(), "KEY");
        let refused = credential.current();
        assert!(
            !credential.reload(&refused).await.expect("read"),
            "unchanged"
        );
        *store.value.lock().expect("lock") = "new".into();
        assert!(credential.reload(&refused).await.expect("read"));
        assert_eq!(credential.current().expose(), "new");
        // A refusal of the old value from a call that started earlier: already replaced, and
        // the store is not read again.
        assert!(credential.reload(&refused).await.expect("read"));
        assert_eq!(*store.refreshes.lock().expect("lock"), 2);
    }

    #[tokio::test]
    async fn a_fixed_value_is_never_reread() {
        let credential = SourceCredential::fixed("okta", SecretString::new("x"));
        assert!(
            !credential
                .reload(&credential.current())
                .await
                .expect("no store")
        );
    }
}
