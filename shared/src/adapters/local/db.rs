//! The shared SQLite connection. One connection behind a mutex: local mode is one process, and
//! serializing writes keeps conditional writes and queue receives atomic without retry loops.

use rusqlite::Connection;
use std::path::Path;

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
    #[error("cannot start the database thread: {0}")]
    Thread(#[source] std::io::Error),
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
    record TEXT NOT NULL,
    expires_at INTEGER
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
CREATE INDEX IF NOT EXISTS queue_order ON queue_messages (queue, seq, visible_at);
CREATE INDEX IF NOT EXISTS queue_receipt ON queue_messages (receipt);
CREATE TABLE IF NOT EXISTS queue_dedup (
    queue TEXT NOT NULL,
    dedup_id TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (queue, dedup_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS queue_dedup_expiry ON queue_dedup (queue, expires_at);
";

/// Brings a data directory made by an older version up to the schema: columns added since are
/// added to it (SQLite has no `ADD COLUMN IF NOT EXISTS`).
fn migrate(conn: &Connection) -> Result<(), rusqlite::Error> {
    let has_expiry = conn
        .prepare("SELECT 1 FROM pragma_table_info('audit') WHERE name = 'expires_at'")?
        .exists([])?;
    if !has_expiry {
        conn.execute_batch("ALTER TABLE audit ADD COLUMN expires_at INTEGER")?;
    }
    conn.execute_batch(
        "CREATE INDEX IF NOT EXISTS audit_expiry ON audit (expires_at) WHERE expires_at IS NOT NULL",
    )
}

/// The work a caller hands the database thread: it runs inside the current group transaction and
/// returns how to deliver its result once that transaction's fate is known.
type Job = Box<dyn FnOnce(&mut Connection) -> Deliver + Send>;
type Deliver = Box<dyn FnOnce(Option<String>) + Send>;

/// Most jobs committed together: enough to amortize a commit, few enough to keep latency low.
const GROUP_LIMIT: usize = 256;

/// A handle on the embedded database; cheap to clone. One thread owns the connection and commits
/// whatever calls are waiting as one transaction (group commit): under load, many webhook
/// requests share a commit instead of queueing for one each. Every call still sees its own
/// effects atomically (each multi-statement call runs in a savepoint) and gets its answer only
/// after the commit that made it durable.
#[derive(Clone)]
pub struct LocalDb {
    jobs: std::sync::mpsc::Sender<Job>,
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
        migrate(&conn).map_err(LocalDbError::Schema)?;
        let (jobs, inbox) = std::sync::mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("loadout-db".into())
            .spawn(move || serve(conn, inbox))
            .map_err(LocalDbError::Thread)?;
        Ok(Self { jobs })
    }

    /// Runs `f` with the connection on the database thread, so async callers never block.
    pub(crate) async fn with<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<TaskFailed> + Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, E> + Send + 'static,
    {
        let (answer, reply) = tokio::sync::oneshot::channel::<Result<T, E>>();
        let job: Job = Box::new(move |conn| {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(conn)))
                .unwrap_or_else(|_| Err(E::from(TaskFailed("a database call panicked".into()))));
            Box::new(move |commit_error: Option<String>| {
                let outcome = match commit_error {
                    None => outcome,
                    Some(e) => Err(E::from(TaskFailed(format!("commit failed: {e}")))),
                };
                let _ = answer.send(outcome);
            })
        });
        self.jobs
            .send(job)
            .map_err(|_| E::from(TaskFailed("the database thread stopped".into())))?;
        // Waiting on the blocking pool rather than on the channel directly tells tokio that work
        // is in progress, so a paused clock (benchmarks on simulated time) does not jump ahead
        // while the database thread works.
        tokio::task::spawn_blocking(move || reply.blocking_recv())
            .await
            .map_err(|e| E::from(TaskFailed(format!("database wait failed: {e}"))))?
            .map_err(|_| E::from(TaskFailed("the database thread dropped a call".into())))?
    }
}

/// The database thread: take what is waiting, run it in one transaction, commit, answer.
fn serve(mut conn: Connection, inbox: std::sync::mpsc::Receiver<Job>) {
    while let Ok(first) = inbox.recv() {
        let mut batch = vec![first];
        while batch.len() < GROUP_LIMIT {
            match inbox.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let began = conn.execute_batch("BEGIN IMMEDIATE");
        let deliveries: Vec<Deliver> = batch.into_iter().map(|job| job(&mut conn)).collect();
        let commit_error = match began {
            Err(e) => Some(e.to_string()),
            Ok(()) => match conn.execute_batch("COMMIT") {
                Ok(()) => None,
                Err(e) => {
                    let _ = conn.execute_batch("ROLLBACK");
                    Some(e.to_string())
                }
            },
        };
        for deliver in deliveries {
            deliver(commit_error.clone());
        }
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
