//! A published third-party client, pyws1uem 0.0.10 from PyPI, against the simulator. Needs a
//! Python with the package, so it is ignored by default:
//!
//! ```sh
//! python3 -m venv /tmp/pyws1uem && /tmp/pyws1uem/bin/pip install pyws1uem==0.0.10
//! UEM_SIM_PYTHON=/tmp/pyws1uem/bin/python \
//!   cargo test -p uem-sim --test api -- --ignored pyws1uem
//! ```

use crate::fixture::sim;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs UEM_SIM_PYTHON: a Python with pyws1uem 0.0.10 installed"]
async fn pyws1uem_calls_work_against_the_simulator() {
    let python =
        std::env::var("UEM_SIM_PYTHON").expect("UEM_SIM_PYTHON names a Python with pyws1uem");
    let sim = sim().await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/pyws1uem_check.py");
    let c = sim.credentials.clone();
    let host = sim.addr.to_string();
    // The simulator serves from the runtime while the script blocks this thread.
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(python)
            .args([script, &host, &c.username, &c.password, &c.tenant_code])
            .output()
    })
    .await
    .expect("joins")
    .expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("ok: devices.delete_device_by_id"),
        "{stdout}"
    );
}
