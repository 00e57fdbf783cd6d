//! The policy engine: a validated policy set, loaded once, that decides app by app.

use std::collections::BTreeMap;
use std::path::Path;

use cedar_policy::{
    Authorizer, Context, Decision, Entities, EntityUid, Policy, PolicyId, PolicySet, Request,
    Response, Schema,
};
use chrono::{DateTime, Utc};

use crate::domain::{CatalogApp, PushMode, Reason};

use super::compile::{SCHEMA_FILE, compile};
use super::error::PolicyError;
use super::facts::{CatalogFacts, DeviceFacts, UserFacts, assign_action};
use super::inputs::PolicyInputs;
use super::rule::{Rule, RuleEffect};
use super::slice::Sets;
use super::verdict::{RuleError, Verdict};

/// A validated Cedar policy set with its schema and the rules' annotations.
#[derive(Debug)]
pub struct PolicyEngine {
    schema: Schema,
    policies: PolicySet,
    permits: PolicySet,
    /// The forbids and one permit-everything policy: denies exactly when a forbid applies,
    /// whether or not a permit does (guardrails for the relevance model and `policy check`).
    forbids: PolicySet,
    any_permit: Policy,
    inputs: PolicyInputs,
    rules: BTreeMap<String, Rule>,
    warnings: Vec<String>,
    version: String,
    action: EntityUid,
    authorizer: Authorizer,
}

impl PolicyEngine {
    /// Loads `schema.cedarschema` and every `*.cedar` file of `dir`.
    pub fn load_dir(dir: impl AsRef<Path>) -> Result<Self, PolicyError> {
        let (schema, files) = read_dir(dir.as_ref())?;
        Self::from_sources(&schema, &files)
    }

    /// The same from texts: `files` are `(file name, policy text)` pairs.
    pub fn from_sources(
        schema_text: &str,
        files: &[(String, String)],
    ) -> Result<Self, PolicyError> {
        let compiled = compile(schema_text, files);
        if let Some(error) = PolicyError::from_problems(compiled.problems) {
            return Err(error);
        }
        let schema = compiled.schema.ok_or_else(|| PolicyError::Schema {
            file: SCHEMA_FILE.to_owned(),
            message: "missing".to_owned(),
        })?;
        let (forbids, any_permit) = forbids_alone(&compiled.policies, &compiled.rules)?;
        let inputs = PolicyInputs::of(&compiled.policies);
        Ok(Self {
            schema,
            forbids,
            any_permit,
            inputs,
            policies: compiled.policies,
            permits: compiled.permits,
            rules: compiled.rules,
            warnings: compiled.warnings,
            version: compiled.version,
            action: assign_action(),
            authorizer: Authorizer::new(),
        })
    }

    /// A stable hash of the schema and policy texts (`pv-` and 12 hex digits); recorded with
    /// every decision.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Every policy, with its `@id` as Cedar id.
    pub(crate) fn policy_set(&self) -> &PolicySet {
        &self.policies
    }

    /// The permit-everything policy the forbids sets carry.
    pub(crate) fn any_permit(&self) -> &Policy {
        &self.any_permit
    }

    /// The whole policy set, for requests about any app.
    pub(crate) fn sets(&self) -> Sets<'_> {
        Sets {
            all: &self.policies,
            permits: &self.permits,
            forbids: &self.forbids,
        }
    }

    /// The user and device facts the policies read: what makes two users one cohort.
    pub fn inputs(&self) -> &PolicyInputs {
        &self.inputs
    }

    /// Every rule, by id.
    pub fn rules(&self) -> impl Iterator<Item = &Rule> {
        self.rules.values()
    }

    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.get(id)
    }

    /// Schema and validator warnings that did not stop loading.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Decides one app for one user on one device. For many apps or users, prefer
    /// [`PolicyEngine::desired_with`], which builds the entities once.
    pub fn evaluate(
        &self,
        user: &UserFacts,
        app: &CatalogApp,
        device: &DeviceFacts,
        at: DateTime<Utc>,
    ) -> Result<Verdict, PolicyError> {
        let catalog = CatalogFacts::from_apps([app])?;
        let entities = self.entities(user, &catalog)?;
        let context = self.context(device, at)?;
        Ok(self.decide(
            self.sets(),
            &entities,
            &user.uid,
            &catalog.apps[0].1,
            context,
        ))
    }

    pub(crate) fn entities(
        &self,
        user: &UserFacts,
        catalog: &CatalogFacts,
    ) -> Result<Entities, PolicyError> {
        Entities::from_entities(
            user.entities.iter().chain(&catalog.entities).cloned(),
            Some(&self.schema),
        )
        .map_err(|e| PolicyError::Request(e.to_string()))
    }

    /// The context of a device, checked against the schema once so that requests built from it
    /// need not be checked again.
    pub(crate) fn context(
        &self,
        device: &DeviceFacts,
        at: DateTime<Utc>,
    ) -> Result<Context, PolicyError> {
        let context = device.context(at)?;
        context
            .validate(&self.schema, &self.action)
            .map_err(|e| PolicyError::Request(e.to_string()))?;
        Ok(context)
    }

    /// The forbids that apply to a request, whether or not a permit does; sorted ids.
    pub(crate) fn applying_forbids(
        &self,
        sets: Sets<'_>,
        entities: &Entities,
        principal: &EntityUid,
        resource: &EntityUid,
        context: Context,
    ) -> Vec<String> {
        self.applying(
            sets.forbids,
            entities,
            principal,
            resource,
            context,
            Decision::Deny,
        )
    }

    /// The permits that apply to a request, whether or not a forbid overrides them; sorted ids.
    pub(crate) fn applying_permits(
        &self,
        sets: Sets<'_>,
        entities: &Entities,
        principal: &EntityUid,
        resource: &EntityUid,
        context: Context,
    ) -> Vec<String> {
        self.applying(
            sets.permits,
            entities,
            principal,
            resource,
            context,
            Decision::Allow,
        )
    }

    fn applying(
        &self,
        set: &PolicySet,
        entities: &Entities,
        principal: &EntityUid,
        resource: &EntityUid,
        context: Context,
        when: Decision,
    ) -> Vec<String> {
        let Ok(request) = Request::new(
            principal.clone(),
            self.action.clone(),
            resource.clone(),
            context,
            None,
        ) else {
            return Vec::new();
        };
        let response = self.authorizer.is_authorized(&request, set, entities);
        if response.decision() != when {
            return Vec::new();
        }
        let mut ids: Vec<String> = response
            .diagnostics()
            .reason()
            .map(ToString::to_string)
            .filter(|id| self.rules.contains_key(id))
            .collect();
        ids.sort();
        ids
    }

    pub(crate) fn decide(
        &self,
        sets: Sets<'_>,
        entities: &Entities,
        principal: &EntityUid,
        resource: &EntityUid,
        context: Context,
    ) -> Verdict {
        let request = match Request::new(
            principal.clone(),
            self.action.clone(),
            resource.clone(),
            context,
            None,
        ) {
            Ok(request) => request,
            // Unreachable without a schema; kept as an error rather than a panic.
            Err(e) => {
                return Verdict::NoPermit {
                    errors: vec![RuleError {
                        rule_id: String::new(),
                        message: e.to_string(),
                    }],
                };
            }
        };
        let response = self.authorizer.is_authorized(&request, sets.all, entities);
        let mut errors = errors_of(&response);
        let determining = self.reasons(response.diagnostics().reason());
        match response.decision() {
            Decision::Allow => {
                let push_mode = if determining
                    .iter()
                    .any(|r| self.push_of(&r.rule_id) == Some(PushMode::Auto))
                {
                    PushMode::Auto
                } else {
                    PushMode::OnDemand
                };
                Verdict::Allow {
                    push_mode,
                    reasons: determining,
                    errors,
                }
            }
            Decision::Deny if determining.is_empty() => Verdict::NoPermit { errors },
            Decision::Deny => {
                // A forbid matched; whether it matters depends on a permit having applied.
                let permits_only = self
                    .authorizer
                    .is_authorized(&request, sets.permits, entities);
                let overridden = match permits_only.decision() {
                    Decision::Allow => self.reasons(permits_only.diagnostics().reason()),
                    Decision::Deny => Vec::new(),
                };
                errors.extend(errors_of(&permits_only));
                errors.sort();
                errors.dedup();
                if overridden.is_empty() {
                    Verdict::NoPermit { errors }
                } else {
                    Verdict::Deny {
                        reasons: determining,
                        overridden,
                        errors,
                    }
                }
            }
        }
    }

    fn push_of(&self, rule_id: &str) -> Option<PushMode> {
        self.rules.get(rule_id).and_then(|r| r.push)
    }

    /// Rule ids to reasons, sorted by id: Cedar's diagnostics come from a hash set.
    fn reasons<'a>(&self, ids: impl Iterator<Item = &'a PolicyId>) -> Vec<Reason> {
        let mut reasons: Vec<Reason> = ids
            .map(|id| {
                let id = id.to_string();
                match self.rules.get(&id) {
                    Some(rule) => rule.as_reason(),
                    None => Reason {
                        rule_id: id,
                        text: String::new(),
                    },
                }
            })
            .collect();
        reasons.sort_by(|a, b| a.rule_id.cmp(&b.rule_id));
        reasons
    }

    /// How many permits or forbids the set holds.
    pub fn count(&self, effect: RuleEffect) -> usize {
        self.rules.values().filter(|r| r.effect == effect).count()
    }
}

fn forbids_alone(
    policies: &PolicySet,
    rules: &BTreeMap<String, Rule>,
) -> Result<(PolicySet, Policy), PolicyError> {
    let request = |e: &dyn std::fmt::Display| PolicyError::Request(e.to_string());
    let mut set = PolicySet::new();
    for policy in policies.policies() {
        let id = policy.id().to_string();
        if rules
            .get(&id)
            .is_some_and(|r| r.effect == RuleEffect::Forbid)
        {
            set.add(policy.clone()).map_err(|e| request(&e))?;
        }
    }
    // An id no forbid uses, so that the set accepts it.
    let mut any_id = String::from("loadout:any-permit");
    while rules.contains_key(&any_id) {
        any_id.push('\'');
    }
    let any = Policy::parse(
        Some(PolicyId::new(&any_id)),
        "permit(principal, action, resource);",
    )
    .map_err(|e| request(&e))?;
    set.add(any.clone()).map_err(|e| request(&e))?;
    Ok((set, any))
}

fn errors_of(response: &Response) -> Vec<RuleError> {
    let mut errors: Vec<RuleError> = response
        .diagnostics()
        .errors()
        .map(|e| match e {
            cedar_policy::AuthorizationError::PolicyEvaluationError(e) => RuleError {
                rule_id: e.policy_id().to_string(),
                message: e.inner().to_string(),
            },
        })
        .collect();
    errors.sort();
    errors
}

/// Reads the schema and the `*.cedar` files of a directory, sorted by name.
pub(crate) fn read_dir(dir: &Path) -> Result<(String, Vec<(String, String)>), PolicyError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| PolicyError::Io { path, source }
    };
    let schema_path = dir.join(SCHEMA_FILE);
    let schema = std::fs::read_to_string(&schema_path).map_err(io(&schema_path))?;
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let path = entry.map_err(io(dir))?.path();
        if path.extension().is_some_and(|e| e == "cedar") && path.is_file() {
            let text = std::fs::read_to_string(&path).map_err(io(&path))?;
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            files.push((name, text));
        }
    }
    if files.is_empty() {
        return Err(PolicyError::NoPolicyFiles {
            dir: dir.display().to_string(),
        });
    }
    files.sort();
    Ok((schema, files))
}
