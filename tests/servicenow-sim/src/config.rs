//! How a simulated instance is set up: its scripted REST API namespace, the integration user and
//! OAuth client it accepts, and how its Flow Designer action authenticates to the callback URL.

use std::time::Duration;

/// How the Flow Designer action's REST step authenticates to the callback URL (the outbound REST
/// message supports Basic or OAuth 2.0; a static bearer token is sent as a header).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallbackAuth {
    /// `Authorization: Bearer <token>`.
    Bearer(String),
    /// `Authorization: Basic base64(user:password)` (a Basic auth profile).
    Basic { user: String, password: String },
    /// No `Authorization` header (a misconfigured REST message).
    None,
}

/// The instance's credentials for inbound calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The integration user (Basic auth, and the OAuth password grant).
    pub username: String,
    pub password: String,
    /// The OAuth application registry entry (`/oauth_token.do`).
    pub client_id: String,
    pub client_secret: String,
}

#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The scripted REST API's namespace: `/api/<namespace>/appapproval/request`.
    pub namespace: String,
    pub credentials: Credentials,
    /// `expires_in` of issued access tokens (ServiceNow's default access token lifespan is
    /// 1800 s; the token answer reports one second less).
    pub token_lifetime: Duration,
    pub callback_auth: CallbackAuth,
    /// How long the callback's REST step waits for an answer.
    pub callback_timeout: Duration,
    /// The number the first ticket gets (`REQ0010001` on a fresh instance).
    pub first_number: u64,
}

impl SimConfig {
    pub fn new(callback_auth: CallbackAuth) -> Self {
        Self {
            namespace: "x_loadout".to_owned(),
            credentials: Credentials {
                username: "loadout.integration".to_owned(),
                password: "sn-integration-password".to_owned(),
                client_id: "3f1d6c2a9b8e4f0a8c7d6e5f4a3b2c1d".to_owned(),
                client_secret: "sn-oauth-client-secret".to_owned(),
            },
            token_lifetime: Duration::from_secs(1800),
            callback_auth,
            callback_timeout: Duration::from_secs(10),
            first_number: 10_001,
        }
    }

    pub fn namespace(mut self, namespace: &str) -> Self {
        self.namespace = namespace.to_owned();
        self
    }

    pub fn token_lifetime(mut self, lifetime: Duration) -> Self {
        self.token_lifetime = lifetime;
        self
    }

    pub fn callback_timeout(mut self, timeout: Duration) -> Self {
        self.callback_timeout = timeout;
        self
    }
}
