//! Specifications of the relevance model: on small hand-made orgs (what it ranks, what it never
//! returns, the evidence it gives) and on the generated tenant, where it must beat popularity.

use std::collections::BTreeMap;

use super::*;
use crate::domain::org::{parse_org, parse_usage};
use crate::domain::{AppId, AppUsage, Employee, UserId};

fn examples_file(path: &str) -> String {
    let full = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

fn tenant(dir: &str) -> (Vec<Employee>, BTreeMap<UserId, Vec<AppUsage>>) {
    (
        parse_org(&examples_file(&format!("{dir}org.csv"))).expect("org.csv"),
        parse_usage(&examples_file(&format!("{dir}usage.csv"))).expect("usage.csv"),
    )
}

/// A small org built person by person: `(id, department, title, location, apps used)`.
struct Org {
    people: Vec<Employee>,
    usage: BTreeMap<UserId, Vec<AppUsage>>,
}

impl Org {
    fn new() -> Self {
        Org {
            people: Vec::new(),
            usage: BTreeMap::new(),
        }
    }

    fn person(
        mut self,
        id: &str,
        department: &str,
        title: &str,
        location: &str,
        apps: &[&str],
    ) -> Self {
        self.people.push(Employee {
            id: UserId::new(id),
            email: format!("{id}@example.com"),
            department: department.into(),
            title: title.into(),
            location: location.into(),
            region: String::new(),
            employment_type: "Full-time".into(),
            manager_id: None,
            groups: vec![],
            account_name: None,
            upn: None,
        });
        if !apps.is_empty() {
            self.usage.insert(
                UserId::new(id),
                apps.iter()
                    .map(|app| AppUsage {
                        app_id: AppId::new(*app),
                        launches_30d: 20,
                        last_used_at: None,
                    })
                    .collect(),
            );
        }
        self
    }

    /// `count` people named `prefix1`, `prefix2`, ... of whom the first `adopters` use `app`.
    fn many(
        mut self,
        prefix: &str,
        count: usize,
        (department, title, location): (&str, &str, &str),
        base: &[&str],
        app: &str,
        adopters: usize,
    ) -> Self {
        for n in 0..count {
            let mut apps = base.to_vec();
            if n < adopters {
                apps.push(app);
            }
            self = self.person(&format!("{prefix}{n}"), department, title, location, &apps);
        }
        self
    }

    fn idle(mut self, id: &str, app: &str) -> Self {
        self.usage
            .entry(UserId::new(id))
            .or_default()
            .push(AppUsage {
                app_id: AppId::new(app),
                launches_30d: 0,
                last_used_at: None,
            });
        self
    }

    fn model(&self) -> RelevanceModel {
        RelevanceModel::train(&self.people, &self.usage, ModelParams::default())
    }
}

const AE_AUSTIN: (&str, &str, &str) = ("Sales", "Account Executive", "Austin");
const AE_LONDON: (&str, &str, &str) = ("Sales", "Account Executive", "London");
const ENG_BERLIN: (&str, &str, &str) = ("Engineering", "Software Engineer", "Berlin");
const OPS_DUBLIN: (&str, &str, &str) = ("Operations", "Program Manager", "Dublin");

fn nothing(_: &AppId) -> bool {
    false
}

fn ids(recs: &[Recommendation]) -> Vec<&str> {
    recs.iter().map(|r| r.app_id.as_str()).collect()
}

/// Everyone uses slack (core); Austin Account Executives mostly use `dialer`, London ones do
/// not; engineers use `ide`.
fn sales_org() -> Org {
    Org::new()
        .many("aus", 17, AE_AUSTIN, &["slack", "crm"], "dialer", 14)
        .many("lon", 10, AE_LONDON, &["slack", "crm"], "dialer", 0)
        .many("eng", 20, ENG_BERLIN, &["slack"], "ide", 18)
        .many("ops", 30, OPS_DUBLIN, &["slack"], "none", 0)
        .person("newbie", "Sales", "Account Executive", "Austin", &[])
}

#[test]
fn a_new_account_executive_in_austin_gets_what_austin_account_executives_use_with_the_counts() {
    let model = sales_org().model();
    let recs = model
        .recommend(&UserId::new("newbie"), 5, &nothing)
        .expect("recommends");
    assert_eq!(recs[0].app_id.as_str(), "crm", "{recs:?}");
    assert_eq!(
        recs[0].reason, "used by 27 of 27 Account Executives",
        "a tie goes to the more specific cohort"
    );
    assert_eq!(
        model.observed_users(),
        77,
        "the new hire has no usage: not a peer"
    );
    assert_eq!(recs[1].app_id.as_str(), "dialer", "{recs:?}");
    assert_eq!(
        recs[1].reason,
        "used by 14 of 17 Account Executives in Austin"
    );
    assert!(
        recs[1].score > 0.6 && recs[1].score < 14.0 / 17.0,
        "{}",
        recs[1].score
    );
    assert!(!ids(&recs).contains(&"slack"), "slack is core");
    let ide = recs.iter().find(|r| r.app_id.as_str() == "ide");
    assert!(ide.is_none_or(|r| r.score < 0.1), "{recs:?}");
}

#[test]
fn a_london_account_executive_is_not_offered_the_austin_tool_first() {
    let model = sales_org()
        .person(
            "londoner",
            "Sales",
            "Account Executive",
            "London",
            &["slack"],
        )
        .model();
    let recs = model
        .recommend(&UserId::new("londoner"), 5, &nothing)
        .expect("recommends");
    assert_eq!(recs[0].app_id.as_str(), "crm");
    let dialer = recs
        .iter()
        .find(|r| r.app_id.as_str() == "dialer")
        .expect("ranked");
    let for_newbie = model
        .recommend(&UserId::new("newbie"), 5, &nothing)
        .expect("recommends");
    let austin = for_newbie
        .iter()
        .find(|r| r.app_id.as_str() == "dialer")
        .expect("ranked");
    assert!(
        dialer.score < austin.score / 2.0,
        "{} vs {}",
        dialer.score,
        austin.score
    );
}

#[test]
fn a_forbidden_app_is_never_recommended_even_when_it_would_rank_first() {
    let model = sales_org().model();
    let forbid_crm = |app: &AppId| app.as_str() == "crm";
    let recs = model
        .recommend(&UserId::new("newbie"), 5, &forbid_crm)
        .expect("recommends");
    assert!(!ids(&recs).contains(&"crm"), "{recs:?}");
    assert_eq!(recs[0].app_id.as_str(), "dialer");
    let all = model.recommend_all(5, &|user, app| {
        user.as_str() == "newbie" && app.as_str() == "crm"
    });
    assert!(!ids(&all[&UserId::new("newbie")]).contains(&"crm"));
    assert!(ids(&all[&UserId::new("aus15")]).contains(&"dialer"));
}

#[test]
fn apps_a_user_already_has_even_idle_ones_are_not_recommended() {
    let model = sales_org().idle("aus16", "ide").model();
    let recs = model
        .recommend(&UserId::new("aus16"), 10, &nothing)
        .expect("recommends");
    assert_eq!(ids(&recs), vec!["dialer"], "{recs:?}");
    let holder = model
        .recommend(&UserId::new("aus0"), 10, &nothing)
        .expect("recommends");
    assert_eq!(
        ids(&holder),
        vec!["ide"],
        "the only app aus0 has no record of"
    );
    assert_eq!(
        model.core_apps().map(AppId::as_str).collect::<Vec<_>>(),
        vec!["slack"]
    );
}

#[test]
fn one_peer_is_weaker_evidence_than_a_whole_department() {
    // A lone colleague at the office uses `rare`; most of the department uses `common`.
    let model = Org::new()
        .many("eng", 10, ENG_BERLIN, &["slack"], "common", 8)
        .many("ops", 20, OPS_DUBLIN, &["slack"], "none", 0)
        .person(
            "solo",
            "Engineering",
            "Software Engineer",
            "Lisbon",
            &["slack", "rare"],
        )
        .person(
            "me",
            "Engineering",
            "Software Engineer",
            "Lisbon",
            &["slack"],
        )
        .model();
    let recs = model
        .recommend(&UserId::new("me"), 5, &nothing)
        .expect("recs");
    assert_eq!(ids(&recs), vec!["common", "rare"], "{recs:?}");
    assert!(recs[1].score < 0.6, "1 of 1 is shrunk: {}", recs[1].score);
    assert_eq!(recs[0].reason, "used by 8 of 11 Software Engineers");
}

#[test]
fn people_who_use_a_tool_are_offered_its_companion() {
    let model = Org::new()
        .many("ds", 10, ENG_BERLIN, &["slack", "notebook"], "plotter", 9)
        .many("sw", 30, ENG_BERLIN, &["slack"], "noise", 0)
        .person(
            "analyst",
            "Engineering",
            "Software Engineer",
            "Berlin",
            &["slack", "notebook"],
        )
        .model();
    let recs = model
        .recommend(&UserId::new("analyst"), 1, &nothing)
        .expect("recs");
    assert_eq!(ids(&recs), vec!["plotter"]);
    assert_eq!(recs[0].reason, "used by 9 of 10 people who use notebook");
}

#[test]
fn the_version_follows_the_data_and_the_parameters_only() {
    let org = sales_org();
    let a = org.model();
    let b = org.model();
    assert_eq!(a.version(), b.version());
    assert!(a.version().starts_with("rm-") && a.version().len() == 15);
    let more = sales_org().idle("aus0", "ide").model();
    assert_ne!(a.version(), more.version());
    let tuned = RelevanceModel::train(
        &org.people,
        &org.usage,
        ModelParams {
            cohort_prior: 9.0,
            ..ModelParams::default()
        },
    );
    assert_ne!(a.version(), tuned.version());
}

#[test]
fn an_unknown_user_is_an_error_not_an_empty_list() {
    let model = sales_org().model();
    assert!(matches!(
        model.recommend(&UserId::new("ghost"), 5, &nothing),
        Err(RelevanceError::UnknownUser(_))
    ));
}

#[test]
fn evaluation_is_reproducible_by_seed_and_refuses_meaningless_options() {
    let (org, usage) = tenant("");
    let one = evaluate(&org, &usage, &EvalOptions::default()).expect("evaluates");
    let again = evaluate(&org, &usage, &EvalOptions::default()).expect("evaluates");
    assert_eq!(one, again);
    let other = evaluate(
        &org,
        &usage,
        &EvalOptions {
            seed: 8,
            ..EvalOptions::default()
        },
    )
    .expect("evaluates");
    assert_eq!(
        one.users, other.users,
        "every user with two optional apps holds one out"
    );
    for bad in [0.0, 1.0, -0.2, f64::NAN] {
        let options = EvalOptions {
            holdout: bad,
            ..EvalOptions::default()
        };
        assert!(matches!(
            evaluate(&org, &usage, &options),
            Err(RelevanceError::BadHoldout(_))
        ));
    }
    let zero = EvalOptions {
        k: 0,
        ..EvalOptions::default()
    };
    assert!(matches!(
        evaluate(&org, &usage, &zero),
        Err(RelevanceError::ZeroK)
    ));
    let empty = evaluate(&org, &BTreeMap::new(), &EvalOptions::default());
    assert!(matches!(empty, Err(RelevanceError::NothingToEvaluate)));
}

#[test]
fn on_the_sample_tenant_the_model_finds_more_than_popularity() {
    let (org, usage) = tenant("");
    let eval = evaluate(&org, &usage, &EvalOptions::default()).expect("evaluates");
    println!("{}", serde_json::to_string_pretty(&eval).expect("json"));
    assert!(eval.model.recall_at_k >= 0.6, "{eval:?}");
    assert!(
        eval.model.recall_at_k > 2.0 * eval.popularity.recall_at_k,
        "{eval:?}"
    );
}

#[test]
fn the_sample_joiner_is_offered_sales_tools_with_evidence_from_sales() {
    let (org, usage) = tenant("");
    let model = RelevanceModel::train(&org, &usage, ModelParams::default());
    let recs = model
        .recommend(&UserId::new("jrivera"), 5, &nothing)
        .expect("recs");
    assert_eq!(recs.len(), 5);
    assert!(ids(&recs).contains(&"salesforce"), "{recs:?}");
    for r in &recs {
        assert!(r.reason.starts_with("used by "), "{r:?}");
        assert!(r.score > 0.0 && r.score <= 1.0);
    }
    let salesforce = recs
        .iter()
        .find(|r| r.app_id.as_str() == "salesforce")
        .expect("sf");
    assert!(
        salesforce.reason.contains("Sales") || salesforce.reason.contains("Account Executive"),
        "{salesforce:?}"
    );
}

#[test]
fn on_the_generated_recall_at_5_is_five_times_popularitys_and_at_least_0_6() {
    let (org, usage) = tenant("generated/");
    let eval = evaluate(&org, &usage, &EvalOptions::default()).expect("evaluates");
    println!("{}", serde_json::to_string_pretty(&eval).expect("json"));
    assert!(eval.users > 1000, "{eval:?}");
    assert!(eval.model.recall_at_k >= 0.6, "{eval:?}");
    assert!(
        eval.model.recall_at_k >= 5.0 * eval.popularity.recall_at_k,
        "{eval:?}"
    );
}
