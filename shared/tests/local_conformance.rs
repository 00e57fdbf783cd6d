//! The port conformance suites against the local (SQLite) adapters. The AWS adapters run the same
//! suites against the emulator in `aws_conformance.rs`.

use chrono::Utc;
use loadout::adapters::local::{
    LocalDb, LocalSecrets, QueueSpec, SqliteAuditLog, SqliteQueue, SqliteStateStore,
};
use loadout::ports::conformance::{self, QueueFixture};
use loadout::ports::{Clock, Queue, SystemClock};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

fn temp_db() -> (tempdir::Dir, LocalDb) {
    let dir = tempdir::Dir::new();
    let db = LocalDb::open_dir(dir.path()).expect("open local db");
    (dir, db)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_state_store_conforms() {
    let (_dir, db) = temp_db();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = Arc::new(SqliteStateStore::new(db, clock.clone()));
    conformance::run_state_store_suite(store, clock.now()).await;
}

#[tokio::test]
async fn sqlite_audit_log_conforms() {
    let (_dir, db) = temp_db();
    let log = SqliteAuditLog::new(db);
    conformance::run_audit_log_suite(&log, Utc::now()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_queue_conforms() {
    let (_dir, db) = temp_db();
    let mut specs = QueueSpec::with_dead_letter("conf", false, 3).to_vec();
    specs.extend(QueueSpec::with_dead_letter("conf.fifo", true, 3));
    let queue = SqliteQueue::new(db, Arc::new(SystemClock), specs);
    let fixture = QueueFixture {
        standard: "conf".into(),
        dead_letter: "conf-dlq".into(),
        max_receives: 3,
        fifo: "conf.fifo".into(),
    };
    conformance::run_queue_suite(&queue, &fixture).await;
}

#[tokio::test]
async fn local_secrets_conform() {
    let values: Arc<Mutex<HashMap<String, String>>> = Arc::default();
    let source = values.clone();
    let secrets = LocalSecrets::with_loader(Box::new(move || {
        source.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }));
    conformance::run_secrets_suite(&secrets, |key, value| {
        let values = values.clone();
        async move {
            values
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(key.to_owned(), value.to_owned());
        }
    })
    .await;
}

#[tokio::test]
async fn queue_survives_reopening_the_database() {
    // Local mode's promise: an accepted message is not lost when the process stops.
    let dir = tempdir::Dir::new();
    {
        let db = LocalDb::open_dir(dir.path()).expect("open");
        let q = SqliteQueue::new(db, Arc::new(SystemClock), QueueSpec::pipeline(5));
        q.send(
            "enrich",
            vec![loadout::ports::OutgoingMessage::standard("kept")],
        )
        .await
        .expect("send");
        // Received but never acknowledged: the worker "died" mid-batch.
        let got = q
            .receive("enrich", 10, std::time::Duration::from_millis(200))
            .await
            .expect("receive");
        assert_eq!(got.len(), 1);
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let db = LocalDb::open_dir(dir.path()).expect("reopen");
    let q = SqliteQueue::new(db, Arc::new(SystemClock), QueueSpec::pipeline(5));
    let got = q
        .receive("enrich", 10, std::time::Duration::from_secs(30))
        .await
        .expect("receive after restart");
    assert_eq!(
        got.len(),
        1,
        "the unacknowledged message is delivered again"
    );
    assert_eq!(got[0].body, "kept");
    assert_eq!(got[0].receive_count, 2);
}

/// A minimal temporary directory (removed on drop), to avoid a dependency for one helper.
mod tempdir {
    use std::path::{Path, PathBuf};

    pub struct Dir(PathBuf);

    impl Dir {
        pub fn new() -> Self {
            let path = std::env::temp_dir().join(format!("loadout-test-{}", uuid::Uuid::new_v4()));
            std::fs::create_dir_all(&path).expect("create temp dir");
            Self(path)
        }

        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

#[path = "support/approvals_suite.rs"]
mod approvals_suite;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_approval_records_move_only_by_compare_and_swap() {
    let (_dir, db) = temp_db();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = Arc::new(SqliteStateStore::new(db, clock.clone()));
    approvals_suite::run_approval_store_suite(store, clock.now()).await;
}
