use super::{SCHEMA, examples_dir, files};
use crate::domain::Catalog;
use crate::policy::{PolicyEngine, PolicyError, RuleEffect, check_dir, check_sources};

const GOOD: &str = r#"
@id("core-apps")
@reason("Everyone gets core.")
@push("auto")
permit (principal, action == Loadout::Action::"assign", resource in Loadout::Bundle::"core");
"#;

fn load(list: &[(&str, &str)]) -> Result<PolicyEngine, PolicyError> {
    PolicyEngine::from_sources(SCHEMA, &files(list))
}

fn rejected(list: &[(&str, &str)]) -> String {
    load(list).expect_err("must be rejected").to_string()
}

#[test]
fn loads_the_example_policies_with_every_rule_annotated() {
    let engine = PolicyEngine::load_dir(examples_dir().join("policies")).expect("examples load");
    assert!(engine.count(RuleEffect::Permit) >= 10);
    assert!(engine.count(RuleEffect::Forbid) >= 4);
    for rule in engine.rules() {
        assert!(!rule.reason.is_empty(), "{}", rule.id);
        assert_eq!(
            rule.push.is_some(),
            rule.effect == RuleEffect::Permit,
            "{}",
            rule.id
        );
        assert!(rule.line > 0, "{} has a line", rule.id);
    }
    assert!(engine.version().starts_with("pv-"));
    assert_eq!(engine.version().len(), 15);
}

#[test]
fn attribute_typo_is_rejected_by_strict_validation_naming_file_and_rule() {
    let typo = r#"
@id("sales-bundle")
@reason("Sales.")
@push("auto")
permit (principal, action == Loadout::Action::"assign", resource in Loadout::Bundle::"sales")
when { principal.departmnet == "Sales" };
"#;
    let error = load(&[("core.cedar", GOOD), ("departments.cedar", typo)]).expect_err("typo");
    let PolicyError::Validation { file, id, line, .. } = &error else {
        panic!("expected a validation error, got {error}");
    };
    assert_eq!(
        (file.as_str(), id.as_str(), *line),
        ("departments.cedar", "sales-bundle", 2)
    );
    assert!(error.to_string().contains("departmnet"), "{error}");
}

#[test]
fn comparing_a_string_with_a_number_is_rejected() {
    let wrong_type = r#"
@id("old-os")
@reason("x")
forbid (principal, action, resource) when { context.device.os_version < 16 };
"#;
    let message = rejected(&[("core.cedar", GOOD), ("guardrails.cedar", wrong_type)]);
    assert!(message.contains("guardrails.cedar"), "{message}");
}

#[test]
fn policy_without_id_is_rejected_naming_file_and_position() {
    let no_id = r#"
@id("first")
@reason("x")
@push("auto")
permit (principal, action, resource in Loadout::Bundle::"core");

@reason("x")
forbid (principal, action, resource) when { resource.risk == "high" };
"#;
    let message = rejected(&[("guardrails.cedar", no_id)]);
    assert!(message.contains("guardrails.cedar"), "{message}");
    assert!(message.contains("policy #2 (forbid)"), "{message}");
}

#[test]
fn permit_without_push_is_rejected() {
    let no_push = r#"
@id("optional")
@reason("x")
permit (principal, action, resource in Loadout::Bundle::"productivity");
"#;
    let error = load(&[("optional.cedar", no_push)]).expect_err("no push");
    assert!(
        matches!(&error, PolicyError::BadPush { file, id, found: None } if file == "optional.cedar" && id == "optional"),
        "{error}"
    );
}

#[test]
fn permit_with_an_unknown_push_mode_is_rejected_quoting_it() {
    let bad = r#"
@id("optional")
@reason("x")
@push("sometimes")
permit (principal, action, resource in Loadout::Bundle::"productivity");
"#;
    let message = rejected(&[("optional.cedar", bad)]);
    assert!(message.contains("\"sometimes\""), "{message}");
}

#[test]
fn policy_without_reason_is_rejected() {
    let no_reason = r#"
@id("quiet")
@push("auto")
permit (principal, action, resource in Loadout::Bundle::"core");
"#;
    let error = load(&[("core.cedar", no_reason)]).expect_err("no reason");
    assert!(
        matches!(&error, PolicyError::MissingReason { file, id } if file == "core.cedar" && id == "quiet"),
        "{error}"
    );
}

#[test]
fn duplicate_id_across_files_is_rejected_naming_both_files() {
    let error = load(&[("a.cedar", GOOD), ("b.cedar", GOOD)]).expect_err("duplicate");
    assert!(
        matches!(&error, PolicyError::DuplicateId { file, id, first_file }
            if file == "b.cedar" && id == "core-apps" && first_file == "a.cedar"),
        "{error}"
    );
}

#[test]
fn bad_syntax_is_rejected_naming_the_file() {
    let broken = "@id(\"x\") @reason(\"y\") @push(\"auto\") permit (principal, action resource);";
    let error = load(&[("core.cedar", GOOD), ("broken.cedar", broken)]).expect_err("syntax");
    assert!(
        matches!(&error, PolicyError::Syntax { file, .. } if file == "broken.cedar"),
        "{error}"
    );
}

#[test]
fn templates_are_rejected() {
    let template = r#"
@id("t")
@reason("x")
@push("auto")
permit (principal == ?principal, action, resource);
"#;
    let message = rejected(&[("t.cedar", template)]);
    assert!(
        message.contains("t.cedar") && message.contains("template"),
        "{message}"
    );
}

#[test]
fn an_invalid_schema_is_rejected_naming_the_schema_file() {
    let error = PolicyEngine::from_sources(
        "namespace Loadout { entity User = { ",
        &files(&[("core.cedar", GOOD)]),
    )
    .expect_err("bad schema");
    assert!(error.to_string().contains("schema.cedarschema"), "{error}");
}

#[test]
fn every_problem_is_reported_not_only_the_first() {
    let no_reason = "@id(\"a\") @push(\"auto\") permit (principal, action, resource);";
    let no_push = "@id(\"b\") @reason(\"x\") permit (principal, action, resource);";
    let error =
        load(&[("one.cedar", no_reason), ("two.cedar", no_push)]).expect_err("two problems");
    assert_eq!(error.problems().len(), 2, "{error}");
    let message = error.to_string();
    assert!(
        message.contains("one.cedar") && message.contains("two.cedar"),
        "{message}"
    );
}

#[test]
fn version_is_stable_across_file_order_and_changes_with_any_text() {
    let other = GOOD.replace("core-apps", "core-apps-2");
    let a = load(&[("a.cedar", GOOD), ("b.cedar", &other)]).expect("loads");
    let b = load(&[("b.cedar", &other), ("a.cedar", GOOD)]).expect("loads");
    assert_eq!(a.version(), b.version());
    let c = load(&[
        ("a.cedar", GOOD),
        ("b.cedar", &other.replace("Everyone", "All")),
    ])
    .expect("loads");
    assert_ne!(a.version(), c.version());
    let renamed = load(&[("a.cedar", GOOD), ("c.cedar", &other)]).expect("loads");
    assert_ne!(a.version(), renamed.version());
}

#[test]
fn a_directory_without_policy_files_is_an_error() {
    let dir = std::env::temp_dir().join(format!("loadout-policy-empty-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("schema.cedarschema"), SCHEMA).expect("write schema");
    let error = PolicyEngine::load_dir(&dir).expect_err("no policies");
    assert!(
        matches!(error, PolicyError::NoPolicyFiles { .. }),
        "{error}"
    );
    let missing_schema = PolicyEngine::load_dir(dir.join("nope")).expect_err("no dir");
    assert!(
        missing_schema.to_string().contains("schema.cedarschema"),
        "{missing_schema}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn check_of_the_examples_is_clean_against_the_example_catalog() {
    let catalog = std::fs::read_to_string(examples_dir().join("catalog.yaml")).expect("catalog");
    let catalog = Catalog::from_yaml(&catalog).expect("valid catalog");
    let report = check_dir(examples_dir().join("policies"), Some(&catalog));
    assert!(report.is_ok(), "{:?}", report.errors);
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    assert_eq!(report.files.len(), 6);
    assert_eq!(report.ids.len(), report.permits + report.forbids);
    assert!(report.version.is_some());
}

#[test]
fn check_warns_about_bundles_and_apps_missing_from_the_catalog() {
    let typo = r#"
@id("sales-tools")
@reason("x")
@push("auto")
permit (principal, action, resource in Loadout::Bundle::"sales-tools");

@id("no-gong")
@reason("x")
forbid (principal, action, resource == Loadout::App::"gongg");
"#;
    let catalog = Catalog::from_yaml(
        "- {id: gong, name: Gong, uem_app_id: '1', platforms: [iOS], bundles: [sales], risk: low}\n",
    )
    .expect("catalog");
    let report = check_sources(SCHEMA, &files(&[("sales.cedar", typo)]), Some(&catalog));
    assert!(report.is_ok(), "{:?}", report.errors);
    assert_eq!((report.permits, report.forbids), (1, 1));
    assert_eq!(report.ids, vec!["no-gong", "sales-tools"]);
    assert_eq!(report.warnings.len(), 2, "{:?}", report.warnings);
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("\"sales-tools\"") && w.contains("sales.cedar"))
    );
    assert!(report.warnings.iter().any(|w| w.contains("\"gongg\"")));
}

#[test]
fn check_reports_errors_and_no_version_for_a_broken_directory() {
    let report = check_sources(
        SCHEMA,
        &files(&[("a.cedar", GOOD), ("b.cedar", GOOD)]),
        None,
    );
    assert!(!report.is_ok());
    assert_eq!(report.version, None);
    assert!(report.errors[0].contains("b.cedar"), "{:?}", report.errors);
}

#[test]
fn check_warns_about_push_on_a_forbid_and_prints_a_readable_report() {
    let forbid = r#"
@id("no-games")
@reason("No games.")
@push("auto")
forbid (principal, action, resource) when { resource.risk == "high" };
"#;
    let report = check_sources(
        SCHEMA,
        &files(&[("core.cedar", GOOD), ("g.cedar", forbid)]),
        None,
    );
    assert!(report.is_ok(), "{:?}", report.errors);
    assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
    assert!(report.warnings[0].contains("g.cedar") && report.warnings[0].contains("no-games"));
    let text = report.to_string();
    assert!(
        text.starts_with("2 file(s), 1 permit(s), 1 forbid(s), version pv-"),
        "{text}"
    );
    assert!(
        text.contains("warning: g.cedar") && text.contains("ok: core-apps, no-games"),
        "{text}"
    );
}
