//! The people all three directories hold, with each side's id and whether each side still has
//! them. One list serves every API so that `update` is seen by Graph, Okta and BambooHR at once;
//! a deletion is per side because the systems are deprovisioned independently.

use crate::ids::{FIRST_BAMBOO_ID, group_guid, okta_user_id, user_guid};
use crate::person::Person;

/// A person and their ids in every directory.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub person: Person,
    /// Entra object id, fixed at first add (a renamed user keeps it, as in Entra).
    pub graph_id: String,
    /// Okta user id, fixed at first add like the Entra one.
    pub okta_id: String,
    pub bamboo_id: u64,
    pub in_graph: bool,
    pub in_okta: bool,
    pub in_bamboo: bool,
}

#[derive(Debug)]
pub(crate) struct Directory {
    entries: Vec<Entry>,
    /// Every group display name ever seen, first-seen order. An Entra group does not vanish
    /// when its last member leaves, so neither does ours.
    groups: Vec<String>,
    next_bamboo: u64,
    /// The employee the BambooHR API key belongs to (`/employees/0`): the first seeded person.
    key_owner: Option<u64>,
}

impl Directory {
    pub fn new(people: Vec<Person>) -> Self {
        let mut dir = Self {
            entries: Vec::new(),
            groups: Vec::new(),
            next_bamboo: FIRST_BAMBOO_ID,
            key_owner: None,
        };
        for p in people {
            dir.add(p);
        }
        dir
    }

    /// A new hire gets ids on every side. A user name already known is a rehire: its data is
    /// replaced, its ids kept, and it is present in every directory again.
    pub fn add(&mut self, person: Person) {
        if let Some(e) = self
            .entries
            .iter_mut()
            .find(|e| e.person.user_name == person.user_name)
        {
            e.person = person;
            e.in_graph = true;
            e.in_okta = true;
            e.in_bamboo = true;
        } else {
            let bamboo_id = self.next_bamboo;
            self.next_bamboo += 1;
            self.key_owner.get_or_insert(bamboo_id);
            self.entries.push(Entry {
                graph_id: user_guid(&person.user_name),
                okta_id: okta_user_id(&person.user_name),
                bamboo_id,
                person,
                in_graph: true,
                in_okta: true,
                in_bamboo: true,
            });
        }
        self.learn_groups();
    }

    fn learn_groups(&mut self) {
        for e in &self.entries {
            for g in &e.person.groups {
                if !self.groups.contains(g) {
                    self.groups.push(g.clone());
                }
            }
        }
    }

    pub fn entry(&self, user_name: &str) -> Option<&Entry> {
        self.entries
            .iter()
            .find(|e| e.person.user_name == user_name)
    }

    pub fn update(&mut self, user_name: &str, f: impl FnOnce(&mut Person)) -> bool {
        let Some(e) = self
            .entries
            .iter_mut()
            .find(|e| e.person.user_name == user_name)
        else {
            return false;
        };
        f(&mut e.person);
        self.learn_groups();
        true
    }

    /// Removes the person from one side; false if unknown or already gone there.
    pub fn delete(&mut self, user_name: &str, side: Side) -> bool {
        let Some(e) = self
            .entries
            .iter_mut()
            .find(|e| e.person.user_name == user_name)
        else {
            return false;
        };
        let flag = match side {
            Side::Graph => &mut e.in_graph,
            Side::Okta => &mut e.in_okta,
            Side::BambooHr => &mut e.in_bamboo,
        };
        std::mem::replace(flag, false)
    }

    // ---- Graph's view -------------------------------------------------------------------------

    pub fn graph_users(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(|e| e.in_graph)
    }

    /// By object id or userPrincipalName, both case-insensitively, as Graph resolves `users/{id}`.
    pub fn graph_user(&self, key: &str) -> Option<&Entry> {
        self.graph_users().find(|e| {
            e.graph_id.eq_ignore_ascii_case(key)
                || (!e.person.email.is_empty() && e.person.email.eq_ignore_ascii_case(key))
        })
    }

    pub fn graph_manager(&self, e: &Entry) -> Option<&Entry> {
        let name = e.person.manager.as_deref()?;
        self.graph_users().find(|m| m.person.user_name == name)
    }

    pub fn graph_reports<'a>(&'a self, e: &'a Entry) -> impl Iterator<Item = &'a Entry> {
        self.graph_users()
            .filter(move |r| r.person.manager.as_deref() == Some(e.person.user_name.as_str()))
    }

    pub fn groups(&self) -> &[String] {
        &self.groups
    }

    pub fn group_by_id(&self, id: &str) -> Option<&str> {
        self.groups
            .iter()
            .find(|g| group_guid(g).eq_ignore_ascii_case(id))
            .map(String::as_str)
    }

    pub fn group_exists(&self, name: &str) -> bool {
        self.groups.iter().any(|g| g == name)
    }

    /// The person's groups in their own order, without repeats.
    pub fn groups_of<'a>(&self, e: &'a Entry) -> Vec<&'a str> {
        let mut out: Vec<&str> = Vec::new();
        for g in &e.person.groups {
            if !out.contains(&g.as_str()) {
                out.push(g);
            }
        }
        out
    }

    pub fn members_of<'a>(&'a self, group: &'a str) -> impl Iterator<Item = &'a Entry> {
        self.graph_users()
            .filter(move |e| e.person.groups.iter().any(|g| g == group))
    }

    // ---- Okta's view --------------------------------------------------------------------------

    pub fn okta_users(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(|e| e.in_okta)
    }

    /// As Okta resolves `users/{key}`: the id (exact), the login (case-insensitive), or the
    /// login's part before `@` when exactly one user has it.
    pub fn okta_user(&self, key: &str) -> Option<&Entry> {
        if let Some(e) = self
            .okta_users()
            .find(|e| e.okta_id == key || login_is(&e.person.email, key))
        {
            return Some(e);
        }
        let mut short = self.okta_users().filter(|e| {
            e.person
                .email
                .split_once('@')
                .is_some_and(|(s, _)| s.eq_ignore_ascii_case(key))
        });
        match (short.next(), short.next()) {
            (Some(e), None) => Some(e),
            _ => None,
        }
    }

    /// The Okta users in a group named in their `Person::groups`.
    pub fn okta_members_of<'a>(&'a self, group: &'a str) -> impl Iterator<Item = &'a Entry> {
        self.okta_users()
            .filter(move |e| e.person.groups.iter().any(|g| g == group))
    }

    // ---- BambooHR's view ----------------------------------------------------------------------

    pub fn bamboo_employees(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(|e| e.in_bamboo)
    }

    pub fn bamboo_employee(&self, id: u64) -> Option<&Entry> {
        self.bamboo_employees().find(|e| e.bamboo_id == id)
    }

    pub fn key_owner(&self) -> Option<u64> {
        self.key_owner
    }

    pub fn bamboo_supervisor(&self, e: &Entry) -> Option<&Entry> {
        let name = e.person.manager.as_deref()?;
        self.bamboo_employees().find(|m| m.person.user_name == name)
    }
}

fn login_is(login: &str, key: &str) -> bool {
    !login.is_empty() && login.eq_ignore_ascii_case(key)
}

/// Which directory a deletion applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Graph,
    Okta,
    BambooHr,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(name: &str, groups: &[&str]) -> Person {
        let mut p = Person::new(name, format!("{name}@example.com"));
        p.groups = groups.iter().map(|g| (*g).to_owned()).collect();
        p
    }

    #[test]
    fn ids_follow_seed_order_and_rehire_keeps_them() {
        let mut d = Directory::new(vec![person("a", &["G1"]), person("b", &[])]);
        assert_eq!(d.entry("a").map(|e| e.bamboo_id), Some(101));
        assert_eq!(d.entry("b").map(|e| e.bamboo_id), Some(102));
        assert!(d.delete("a", Side::Graph));
        assert!(!d.delete("a", Side::Graph));
        assert!(d.graph_user(&user_guid("a")).is_none());
        d.add(person("a", &["G2"]));
        assert_eq!(d.entry("a").map(|e| e.bamboo_id), Some(101));
        assert!(d.graph_user("A@EXAMPLE.COM").is_some());
        assert_eq!(d.groups(), ["G1".to_owned(), "G2".to_owned()]);
        assert_eq!(d.key_owner(), Some(101));
    }

    #[test]
    fn okta_resolves_id_login_and_unambiguous_shortname() {
        let mut d = Directory::new(vec![person("a", &[]), person("b", &[])]);
        let id = okta_user_id("a");
        assert!(d.okta_user(&id).is_some());
        assert!(d.okta_user(&id.to_ascii_lowercase()).is_none());
        assert!(d.okta_user("A@example.com").is_some());
        assert_eq!(
            d.okta_user("b").map(|e| e.okta_id.clone()),
            Some(okta_user_id("b"))
        );
        d.add(Person::new("b2", "b@other.example"));
        assert!(d.okta_user("b").is_none(), "two users share the shortname");
        assert!(d.delete("a", Side::Okta));
        assert!(d.okta_user(&id).is_none());
        assert!(d.graph_user("a@example.com").is_some());
    }

    #[test]
    fn memberships_follow_updates() {
        let mut d = Directory::new(vec![person("a", &["G1"])]);
        assert_eq!(d.members_of("G1").count(), 1);
        assert!(d.update("a", |p| p.groups = vec!["G3".into()]));
        assert_eq!(d.members_of("G1").count(), 0);
        assert!(d.group_exists("G1"));
        assert!(d.group_by_id(&group_guid("G3")).is_some());
        assert!(!d.update("nobody", |_| {}));
    }
}
