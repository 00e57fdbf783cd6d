//! What another `loadout` command needs to join a running local mode on the same data directory
//! (`loadout sweep --data-dir`): where UEM is and, for the in-process simulator, its generated
//! credentials. Written at start-up beside the secrets file, readable by the owner only.

use super::LocalError;
use loadout::ports::SecretString;
use loadout::uem::{UemAuth, UemConfig};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

const FILE: &str = "runtime.json";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Runtime {
    pub uem_base_url: String,
    #[serde(default)]
    pub token_url: Option<String>,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub client_secret: Option<String>,
    #[serde(default)]
    pub requests_per_minute: u32,
    #[serde(default)]
    pub organization_group_id: Option<String>,
}

impl Runtime {
    pub fn of(config: &UemConfig) -> Self {
        let (token_url, client_id, client_secret) = match &config.auth {
            UemAuth::OAuth {
                token_url,
                client_id,
                client_secret,
            } => (
                Some(token_url.clone()),
                Some(client_id.clone()),
                Some(client_secret.expose().to_owned()),
            ),
            UemAuth::Basic { .. } => (None, None, None),
        };
        Self {
            uem_base_url: config.base_url.clone(),
            token_url,
            client_id,
            client_secret,
            requests_per_minute: config.requests_per_minute,
            organization_group_id: config.organization_group_id.clone(),
        }
    }

    /// The client configuration, when this file carries OAuth credentials (the simulator's).
    pub fn uem_config(&self) -> Option<UemConfig> {
        let (Some(token_url), Some(id), Some(secret)) =
            (&self.token_url, &self.client_id, &self.client_secret)
        else {
            return None;
        };
        let mut config = UemConfig::oauth(
            &self.uem_base_url,
            token_url,
            id,
            SecretString::new(secret.clone()),
        )
        .requests_per_minute(self.requests_per_minute);
        config.organization_group_id = self.organization_group_id.clone();
        Some(config)
    }
}

fn path(data_dir: &Path) -> PathBuf {
    data_dir.join(FILE)
}

pub fn write(data_dir: &Path, runtime: &Runtime) -> Result<(), LocalError> {
    let path = path(data_dir);
    let err = |message: String| LocalError::Runtime {
        path: path.display().to_string(),
        message,
    };
    let text = serde_json::to_string_pretty(runtime).map_err(|e| err(e.to_string()))?;
    std::fs::write(&path, text).map_err(|e| err(e.to_string()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| err(e.to_string()))?;
    }
    Ok(())
}

/// The runtime of the local mode that last ran on `data_dir`, if any.
pub fn read(data_dir: &Path) -> Result<Option<Runtime>, LocalError> {
    let path = path(data_dir);
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| LocalError::Runtime {
                path: path.display().to_string(),
                message: e.to_string(),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(LocalError::Runtime {
            path: path.display().to_string(),
            message: e.to_string(),
        }),
    }
}
