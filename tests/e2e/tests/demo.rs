//! The README's first command: `loadout demo` runs on the sample tenant and tells what happened,
//! including one licensed app approved in ServiceNow and one rejected.

use loadout::governance::Mode;
use loadout_cli::demo::{DemoOptions, run};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_replays_the_samples_and_shows_an_approval_and_a_rejection() {
    let out = run(DemoOptions {
        examples_dir: loadout_e2e::examples_dir(),
        mode: Mode::Auto,
    })
    .await
    .expect("the demo runs");
    assert!(out.contains("first reconciliation"), "{out}");
    assert!(out.contains("Dead-lettered actions: 0"), "{out}");
    assert!(out.contains("gated mode with ServiceNow"), "{out}");
    let verdict = out
        .lines()
        .find(|l| l.starts_with("In UEM for "))
        .unwrap_or_else(|| panic!("the approvals outcome: {out}"));
    assert!(
        verdict.contains(" assigned,") && verdict.contains(" not assigned;"),
        "the approved app is in UEM and the rejected one is not: {verdict}"
    );
    assert!(
        out.contains("installed") || out.contains("install_command_dispatched"),
        "{out}"
    );
}
