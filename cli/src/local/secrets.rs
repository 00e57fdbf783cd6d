//! Local mode with no secrets configured generates them once, keeps them in the data directory
//! (so a restart accepts what senders were told), and prints them on first start.

use super::LocalError;
use base64::Engine;
use loadout::adapters::local::LocalSecrets;
use loadout::ports::secrets::keys;
use std::collections::BTreeMap;
use std::path::Path;

/// The inbound secrets local mode needs to verify senders.
const GENERATED: [&str; 8] = [
    keys::HRIS_HMAC_SECRET,
    keys::BAMBOOHR_HMAC_SECRET,
    keys::OKTA_AUTHORIZATION,
    keys::GRAPH_CLIENT_STATE,
    keys::UEM_EVENTS_BASIC,
    keys::SERVICENOW_CALLBACK_TOKEN,
    keys::ADMIN_TOKEN,
    // Signs the "keep it" links of reclamation notices.
    keys::RECLAIM_LINK_SECRET,
];

fn random_token(bytes: usize) -> String {
    let buf: Vec<u8> = (0..bytes).map(|_| rand::random::<u8>()).collect();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

fn generate(key: &str) -> String {
    let key_bytes: [u8; 32] = rand::random();
    match key {
        keys::HRIS_HMAC_SECRET => format!(
            "whsec_{}",
            base64::engine::general_purpose::STANDARD.encode(key_bytes)
        ),
        keys::UEM_EVENTS_BASIC => format!("uem-events:{}", random_token(18)),
        _ => random_token(24),
    }
}

/// Fills unset secrets from `<data_dir>/secrets.json`, generating missing ones. Returns the
/// values generated now (to print once).
pub fn ensure_local_secrets(
    secrets: &LocalSecrets,
    data_dir: &Path,
) -> Result<Vec<(String, String)>, LocalError> {
    let path = data_dir.join("secrets.json");
    let err = |message: String| LocalError::Secrets {
        path: path.display().to_string(),
        message,
    };
    let mut stored: BTreeMap<String, String> = match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| err(e.to_string()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
        Err(e) => return Err(err(e.to_string())),
    };
    let mut fresh = Vec::new();
    for key in GENERATED {
        let (value, new) = match stored.get(key) {
            Some(v) => (v.clone(), false),
            None => {
                let v = generate(key);
                stored.insert(key.to_owned(), v.clone());
                (v, true)
            }
        };
        // A value configured in the environment wins; only announce what is really in use.
        if secrets.provide_default(key, value.clone()) && new {
            fresh.push((key.to_owned(), value));
        }
    }
    if stored.len() != GENERATED.len() || !path.exists() {
        std::fs::create_dir_all(data_dir).map_err(|e| err(e.to_string()))?;
        let text = serde_json::to_string_pretty(&stored).map_err(|e| err(e.to_string()))?;
        std::fs::write(&path, text).map_err(|e| err(e.to_string()))?;
        restrict_permissions(&path);
    }
    Ok(fresh)
}

#[cfg(unix)]
fn restrict_permissions(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
}

#[cfg(not(unix))]
fn restrict_permissions(_path: &Path) {}
