//! Policy slices: for each app, only the policies whose resource scope can admit it. Cedar
//! evaluates every policy of a set on every request; a policy whose scope excludes the app is
//! never satisfied and never errs (the scope is tested before the conditions, which are not
//! reached), so a slice answers exactly as the whole set does, and a large set of department,
//! title and regional bundles costs each request only the few policies about that app.

use cedar_policy::{EntityTypeName, EntityUid, Policy, PolicySet, ResourceConstraint};

use super::engine::PolicyEngine;
use super::error::PolicyError;
use super::facts::CatalogFacts;
use super::rule::RuleEffect;

/// The sets a request is evaluated against: everything, the permits alone (which permits a
/// forbid overrode) and the forbids with a permit-everything policy (which forbids apply).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sets<'a> {
    pub all: &'a PolicySet,
    pub permits: &'a PolicySet,
    pub forbids: &'a PolicySet,
}

#[derive(Debug, Default)]
struct Slice {
    all: PolicySet,
    permits: PolicySet,
    forbids: PolicySet,
}

/// One slice per catalog app, in [`CatalogFacts`] order.
#[derive(Debug)]
pub(crate) struct Slices(Vec<Slice>);

impl Slices {
    pub fn new(engine: &PolicyEngine, catalog: &CatalogFacts) -> Result<Slices, PolicyError> {
        let add = |set: &mut PolicySet, policy: &Policy| {
            set.add(policy.clone())
                .map_err(|e| PolicyError::Request(e.to_string()))
        };
        let mut slices = Vec::with_capacity(catalog.apps.len());
        for ((_, app, _), bundles) in catalog.apps.iter().zip(&catalog.bundles) {
            let mut slice = Slice::default();
            for policy in engine.policy_set().policies() {
                if !admits(&policy.resource_constraint(), app, bundles) {
                    continue;
                }
                add(&mut slice.all, policy)?;
                match engine.rule(policy.id().as_ref()).map(|r| r.effect) {
                    Some(RuleEffect::Permit) => add(&mut slice.permits, policy)?,
                    Some(RuleEffect::Forbid) => add(&mut slice.forbids, policy)?,
                    None => {}
                }
            }
            add(&mut slice.forbids, engine.any_permit())?;
            slices.push(slice);
        }
        Ok(Slices(slices))
    }

    /// The sets for the app at `position` of the catalog.
    pub fn for_app(&self, position: usize) -> Sets<'_> {
        let slice = &self.0[position];
        Sets {
            all: &slice.all,
            permits: &slice.permits,
            forbids: &slice.forbids,
        }
    }
}

/// Whether a resource scope can hold for `app`, whose parents are `bundles`.
fn admits(scope: &ResourceConstraint, app: &EntityUid, bundles: &[EntityUid]) -> bool {
    let within = |target: &EntityUid| target == app || bundles.contains(target);
    let is_app = |kind: &EntityTypeName| kind == app.type_name();
    match scope {
        ResourceConstraint::Any => true,
        ResourceConstraint::Eq(target) => target == app,
        ResourceConstraint::In(target) => within(target),
        ResourceConstraint::Is(kind) => is_app(kind),
        ResourceConstraint::IsIn(kind, target) => is_app(kind) && within(target),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn scope(text: &str) -> ResourceConstraint {
        Policy::from_str(text)
            .expect("parses")
            .resource_constraint()
    }

    fn uid(text: &str) -> EntityUid {
        EntityUid::from_str(text).expect("a uid")
    }

    #[test]
    fn a_scope_admits_the_app_itself_its_bundles_and_its_type_only() {
        let app = uid(r#"Loadout::App::"crm""#);
        let bundles = [uid(r#"Loadout::Bundle::"sales""#)];
        let admits = |text: &str| admits(&scope(text), &app, &bundles);
        assert!(admits("permit(principal, action, resource);"));
        assert!(admits(
            r#"permit(principal, action, resource == Loadout::App::"crm");"#
        ));
        assert!(!admits(
            r#"permit(principal, action, resource == Loadout::App::"ide");"#
        ));
        assert!(admits(
            r#"permit(principal, action, resource in Loadout::Bundle::"sales");"#
        ));
        assert!(admits(
            r#"permit(principal, action, resource in Loadout::App::"crm");"#
        ));
        assert!(!admits(
            r#"permit(principal, action, resource in Loadout::Bundle::"design");"#
        ));
        assert!(admits(
            "permit(principal, action, resource is Loadout::App);"
        ));
        assert!(!admits(
            "permit(principal, action, resource is Loadout::Bundle);"
        ));
        assert!(admits(
            r#"permit(principal, action, resource is Loadout::App in Loadout::Bundle::"sales");"#
        ));
        assert!(!admits(
            r#"permit(principal, action, resource is Loadout::App in Loadout::Bundle::"it");"#
        ));
    }
}
