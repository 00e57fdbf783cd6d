//! The offline commands run as an admin runs them: the `loadout` binary on the files of
//! `examples/`, checked by the JSON (and text) they print and their exit codes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

const AT: &str = "2026-11-20T14:00:00Z";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn loadout(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_loadout"))
        .args(args)
        .current_dir(root())
        .env("RUST_LOG", "error")
        .output()
        .expect("the loadout binary runs")
}

fn ok_json(args: &[&str]) -> Value {
    let out = loadout(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "no progress bar into a pipe: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("prints JSON")
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A copy of examples/policies with `edit` applied to one file (and `extra` files added).
struct PolicyDir(PathBuf);

impl PolicyDir {
    fn copy(edit: Option<(&str, &dyn Fn(String) -> String)>, extra: &[(&str, &str)]) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "loadout-cli-policies-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        for entry in std::fs::read_dir(root().join("examples/policies")).expect("examples") {
            let path = entry.expect("entry").path();
            let name = path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            let mut content = std::fs::read_to_string(&path).expect("read");
            if let Some((file, change)) = &edit
                && *file == name
            {
                content = change(content);
            }
            std::fs::write(dir.join(&name), content).expect("write");
        }
        for (name, content) in extra {
            std::fs::write(dir.join(name), content).expect("write");
        }
        PolicyDir(dir)
    }

    fn path(&self) -> &str {
        self.0.to_str().expect("utf-8 path")
    }
}

impl Drop for PolicyDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn without_sales_bundle(text: String) -> String {
    text.replace(
        r#"when { principal.department == "Sales" };"#,
        r#"when { principal.department == "Sales" && false };"#,
    )
}

// ---- model recommend ------------------------------------------------------------------------

#[test]
fn model_recommend_gives_every_user_k_apps_with_a_score_and_a_reason_and_respects_forbids() {
    let json = ok_json(&[
        "model",
        "recommend",
        "--org",
        "examples/org.csv",
        "--usage",
        "examples/usage.csv",
        "--k",
        "3",
        "--json",
    ]);
    let users = json.as_object().expect("an object keyed by user id");
    assert_eq!(users.len(), 70, "everyone in org.csv");
    for (user, recs) in users {
        let recs = recs.as_array().expect("a list");
        assert!(recs.len() <= 3, "{user}");
        let mut previous = f64::INFINITY;
        for rec in recs {
            let mut fields: Vec<&str> = rec
                .as_object()
                .expect("object")
                .keys()
                .map(String::as_str)
                .collect();
            fields.sort_unstable();
            assert_eq!(
                fields,
                vec!["app_id", "reason", "score"],
                "exactly the documented fields"
            );
            let score = rec["score"].as_f64().expect("score");
            assert!(
                (0.0..=1.0).contains(&score) && score <= previous,
                "{user}: {rec}"
            );
            previous = score;
            assert!(
                rec["reason"]
                    .as_str()
                    .expect("reason")
                    .starts_with("used by "),
                "{rec}"
            );
        }
    }
    let apps = |user: &str| -> Vec<String> {
        users[user]
            .as_array()
            .expect("list")
            .iter()
            .map(|r| r["app_id"].as_str().expect("id").to_owned())
            .collect()
    };
    // The joiner (an Account Executive in Austin with no usage yet) is offered nothing the
    // policies already push to every Sales user, and an EMEA seller never gets Gong.
    assert!(
        !apps("jrivera").contains(&"salesforce".to_owned()),
        "pushed by the sales bundle"
    );
    for emea in ["owright", "fmueller", "hclarke", "ischmidt"] {
        assert!(
            !apps(emea).contains(&"gong".to_owned()),
            "{emea}: EMEA forbids call recording"
        );
    }
    // The contractor never gets a paid licence (security excepted).
    let catalog = std::fs::read_to_string(root().join("examples/catalog.yaml")).expect("catalog");
    for app in apps("rbrooks") {
        let line = catalog
            .lines()
            .find(|l| l.contains(&format!("{{id: {app},")))
            .expect("a catalog app");
        assert!(line.contains("licensed: false"), "contractor offered {app}");
    }
}

#[test]
fn model_recommend_without_guardrails_ranks_what_cohorts_use_and_names_the_counts() {
    let json = ok_json(&[
        "model",
        "recommend",
        "--user",
        "jrivera",
        "--no-guardrails",
        "--json",
    ]);
    let recs = json["jrivera"].as_array().expect("the joiner's list");
    assert_eq!(recs.len(), 5);
    assert_eq!(recs[0]["app_id"], "salesloft", "{json}");
    assert_eq!(
        recs[0]["reason"],
        "used by 8 of 8 people in Sales in Austin"
    );
}

// ---- model eval -----------------------------------------------------------------------------

#[test]
fn model_eval_on_the_generated_tenant_meets_the_targets() {
    let json = ok_json(&[
        "model",
        "eval",
        "--org",
        "examples/generated/org.csv",
        "--usage",
        "examples/generated/usage.csv",
        "--k",
        "5",
        "--holdout",
        "0.2",
        "--seed",
        "7",
        "--json",
    ]);
    assert_eq!(json["k"], 5);
    let model = json["model"]["recall_at_k"].as_f64().expect("model recall");
    let popular = json["popularity"]["recall_at_k"]
        .as_f64()
        .expect("baseline recall");
    assert!(model >= 0.6, "{json}");
    assert!(model >= 5.0 * popular, "{json}");
    assert!(json["model"]["precision_at_k"].as_f64().expect("precision") > 0.0);
    assert!(json["recall_lift"].as_f64().expect("lift") >= 5.0);
    assert!(
        json["model_version"]
            .as_str()
            .expect("version")
            .starts_with("rm-")
    );
}

#[test]
fn model_eval_prints_a_table_and_refuses_a_meaningless_holdout() {
    let out = loadout(&["model", "eval"]);
    assert!(out.status.success());
    let table = text(&out);
    assert!(
        table.contains("recall@5") && table.contains("popularity baseline"),
        "{table}"
    );
    let bad = loadout(&["model", "eval", "--holdout", "1.5"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("holdout"));
    let missing = loadout(&["model", "eval", "--org", "examples/nobody.csv"]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("examples/nobody.csv"));
}

// ---- simulate -------------------------------------------------------------------------------

#[test]
fn simulate_a_policy_change_of_the_sample_tenant() {
    let candidate = PolicyDir::copy(Some(("departments.cedar", &without_sales_bundle)), &[]);
    let json = ok_json(&[
        "simulate",
        "--policies",
        candidate.path(),
        "--at",
        AT,
        "--breaker-share",
        "0.15",
        "--json",
    ]);
    assert_eq!(json["users"], 70);
    assert_eq!(json["gains"], 0);
    assert_eq!(json["mode"], "gated");
    let losses = json["losses"].as_u64().expect("losses");
    assert!(losses > 30, "{json}");
    let apps = json["apps"].as_array().expect("apps");
    let salesforce = apps
        .iter()
        .find(|a| a["app_id"] == "salesforce")
        .expect("salesforce changes");
    let lost = salesforce["lost_by"].as_array().expect("users").len();
    assert_eq!(lost, 14, "Sales users with a compliant phone or none yet");
    assert!(
        (salesforce["cost_delta_per_month"].as_f64().expect("cost") + 165.0 * 14.0).abs() < 0.01
    );
    assert!(json["cost"]["delta_per_month"].as_f64().expect("delta") < -165.0 * 14.0);
    assert_eq!(json["breaker"]["threshold_users"], 10);
    let trips = json["breaker"]["trips"].as_array().expect("trips");
    assert!(
        trips
            .iter()
            .any(|t| t["app_id"] == "salesforce" && t["direction"] == "loss")
    );
    // Gated mode holds removals of licensed and core apps for approval: at least the 14
    // Salesforce seats (licensed) wait.
    let needed = json["approvals"]["needed"].as_u64().expect("approvals");
    assert!(needed >= 14, "licensed removals wait for approval: {json}");
    assert!(json["losses_in_use"].as_u64().expect("in use") > 10);
    let changes = json["changes"].as_array().expect("per user");
    let jrivera = changes
        .iter()
        .find(|c| c["user_id"] == "jrivera")
        .expect("the joiner loses the sales apps");
    assert!(
        jrivera["losses"]
            .as_array()
            .expect("losses")
            .iter()
            .any(|a| a == "salesloft")
    );
}

#[test]
fn simulate_against_the_baseline_itself_changes_nothing_and_reads_as_text() {
    let out = loadout(&["simulate", "--policies", "examples/policies", "--at", AT]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = text(&out);
    assert!(report.contains("0 users change"), "{report}");
    assert!(report.contains("(+0.00)"), "{report}");
    assert!(report.contains("breaker: no app"), "{report}");
    let bad = loadout(&[
        "simulate",
        "--policies",
        "examples/policies",
        "--breaker-share",
        "2",
    ]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("breaker share"));
}

// ---- policy check ---------------------------------------------------------------------------

#[test]
fn policy_check_of_the_samples_passes_and_names_intended_overlaps() {
    let out = loadout(&["policy", "check", "examples/policies"]);
    assert!(
        out.status.success(),
        "{}{}",
        text(&out),
        String::from_utf8_lossy(&out.stderr)
    );
    let report = text(&out);
    assert!(report.contains("checked on 70 users"), "{report}");
    assert!(
        report.contains(r#"forbid "no-high-risk-for-interns" removes everything permit "it-admin-tools" grants for 1 user(s): okim"#),
        "{report}"
    );
    let json = ok_json(&["policy", "check", "examples/policies", "--json"]);
    assert_eq!(json["population"]["users"], 70);
    assert!(json["errors"].as_array().expect("errors").is_empty());
    assert!(
        json["population"]["permits_never_apply"]
            .as_array()
            .expect("list")
            .is_empty()
    );

    let strict = loadout(&["policy", "check", "examples/policies", "--strict"]);
    assert!(!strict.status.success(), "the samples have warnings");
}

#[test]
fn policy_check_fails_on_a_permit_that_applies_to_nobody() {
    let typo = r#"
@id("finance-reporting")
@reason("Finance reports in Tableau.")
@push("auto")
permit (principal, action == Loadout::Action::"assign", resource == Loadout::App::"tableau")
when { principal.department == "Finace" };
"#;
    let dir = PolicyDir::copy(None, &[("typo.cedar", typo)]);
    let out = loadout(&["policy", "check", dir.path()]);
    assert!(!out.status.success());
    let report = text(&out);
    assert!(
        report.contains(r#"error: permit "finance-reporting" applies to none of the 70 users"#),
        "{report}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("the policy set has errors"));

    // On another population the same set is checked against those people: three people leave
    // most permits applying to nobody.
    let org = "user_id,email,department,title,location,region,employment_type,manager_id,groups\n\
               amy,amy@example.com,Sales,Account Executive,Austin,NA,Full-time,,all-staff;sales\n\
               bob,bob@example.com,Sales,Account Executive,London,EMEA,Contractor,amy,all-staff\n\
               cat,cat@example.com,Support,Customer Support Specialist,Austin,NA,Full-time,amy,all-staff\n";
    let people = PolicyDir::copy(None, &[("org.csv", org)]);
    let org_path = format!("{}/org.csv", people.path());
    let small = loadout(&[
        "policy",
        "check",
        "examples/policies",
        "--org",
        &org_path,
        "--catalog",
        "examples/catalog.yaml",
        "--json",
    ]);
    assert!(!small.status.success());
    let json: Value = serde_json::from_slice(&small.stdout).expect("json");
    assert_eq!(json["population"]["users"], 3);
    let never: Vec<&str> = json["population"]["permits_never_apply"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        never.contains(&"engineering-bundle") && !never.contains(&"sales-bundle"),
        "{never:?}"
    );
}
