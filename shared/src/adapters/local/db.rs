//! The shared SQLite connection. One connection behind a mutex: local mode is one process, and
//! serializing writes keeps conditional writes and queue receives atomic without retry loops.

use rusqlite::Connection;
use std::path::Path;
use std::sync::{Arc, Mutex};

#[derive(Debug, thiserror::Error)]
pub enum LocalDbError {
    #[error("cannot open the local database at {path}: {source}")]
    Open {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("cannot create the data directory {path}: {source}")]
    Dir {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("local database schema: {0}")]
    Schema(#[source] rusqlite::Error),
}

const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
PRAGMA busy_timeout = 5000;
CREATE TABLE IF NOT EXISTS state (
    pk TEXT NOT NULL,
    sk TEXT NOT NULL,
    data TEXT NOT NULL,
    ver INTEGER NOT NULL,
    expires_at INTEGER,
    PRIMARY KEY (pk, sk)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS audit (
    record_id TEXT PRIMARY KEY,
    correlation_id TEXT NOT NULL,
    user_id TEXT,
    app_id TEXT,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_by_correlation ON audit (correlation_id, record_id);
CREATE INDEX IF NOT EXISTS audit_by_user ON audit (user_id, record_id);
CREATE INDEX IF NOT EXISTS audit_by_app ON audit (app_id, record_id);
CREATE TABLE IF NOT EXISTS queue_messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    queue TEXT NOT NULL,
    message_id TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL,
    group_id TEXT,
    visible_at INTEGER NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    receipt TEXT,
    sent_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS queue_visible ON queue_messages (queue, visible_at, seq);
CREATE INDEX IF NOT EXISTS queue_receipt ON queue_messages (receipt);
CREATE TABLE IF NOT EXISTS queue_dedup (
    queue TEXT NOT NULL,
    dedup_id TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (queue, dedup_id)
) WITHOUT ROWID;
";

/// A handle on the embedded database; cheap to clone.
#[derive(Clone)]
pub struct LocalDb {
    conn: Arc<Mutex<Connection>>,
}

impl LocalDb {
    /// Opens (creating if needed) `<dir>/loadout.db`.
    pub fn open_dir(dir: &Path) -> Result<Self, LocalDbError> {
        std::fs::create_dir_all(dir).map_err(|source| LocalDbError::Dir {
            path: dir.display().to_string(),
            source,
        })?;
        let path = dir.join("loadout.db");
        let conn = Connection::open(&path).map_err(|source| LocalDbError::Open {
            path: path.display().to_string(),
            source,
        })?;
        Self::init(conn)
    }

    /// A throwaway in-memory database (unit tests of stages).
    pub fn in_memory() -> Result<Self, LocalDbError> {
        let conn = Connection::open_in_memory().map_err(|source| LocalDbError::Open {
            path: ":memory:".into(),
            source,
        })?;
        Self::init(conn)
    }

    fn init(conn: Connection) -> Result<Self, LocalDbError> {
        conn.execute_batch(SCHEMA).map_err(LocalDbError::Schema)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Runs `f` with the connection on the blocking pool, so async callers never stall the runtime.
    pub(crate) async fn with<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<TaskFailed> + Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, E> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut guard)
        })
        .await
        .map_err(|e| E::from(TaskFailed(e.to_string())))?
    }
}

/// The blocking task running a database call panicked or was cancelled.
#[derive(Debug)]
pub(crate) struct TaskFailed(pub String);

impl From<TaskFailed> for crate::ports::StoreError {
    fn from(e: TaskFailed) -> Self {
        crate::ports::StoreError::Unavailable(e.0)
    }
}

impl From<TaskFailed> for crate::ports::AuditError {
    fn from(e: TaskFailed) -> Self {
        crate::ports::AuditError::Unavailable(e.0)
    }
}

impl From<TaskFailed> for crate::ports::QueueError {
    fn from(e: TaskFailed) -> Self {
        crate::ports::QueueError::Unavailable(e.0)
    }
}
