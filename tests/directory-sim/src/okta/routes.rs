//! The Users API resources served under `/api/v1`: users (list, one, their groups) and groups
//! (list, one, their users). Paths are matched as Okta spells them (lower case). Query
//! parameters are validated before the resource is looked up.

use super::error::OktaError;
use super::filter::Filter;
use super::page::{DEFAULT_LIMIT, ListQuery, links, page};
use super::render::{all_groups, group, group_by_id, groups_of, members, user};
use super::respond::Answer;
use crate::directory::{Directory, Entry};
use crate::ids::okta_group_id;
use serde_json::Value;

/// A resolved path after `/api/v1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    Users,
    /// An id, a login or a login's short name.
    User(String),
    UserGroups(String),
    Groups,
    Group(String),
    GroupUsers(String),
}

/// The route for decoded path segments, or `None` for a path not served here.
pub(crate) fn resolve(segs: &[String]) -> Option<Route> {
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    Some(match s.as_slice() {
        ["api", "v1", "users"] => Route::Users,
        ["api", "v1", "users", key] => Route::User((*key).to_owned()),
        ["api", "v1", "users", key, "groups"] => Route::UserGroups((*key).to_owned()),
        ["api", "v1", "groups"] => Route::Groups,
        ["api", "v1", "groups", id] => Route::Group((*id).to_owned()),
        ["api", "v1", "groups", id, "users"] => Route::GroupUsers((*id).to_owned()),
        _ => return None,
    })
}

/// The org's origin and this request's path, for `_links` and `Link` headers.
pub(crate) struct Here<'a> {
    pub org: &'a str,
    pub path: &'a str,
}

impl Here<'_> {
    fn url(&self) -> String {
        format!("{}{}", self.org, self.path)
    }
}

/// Answers a GET on `route` with the JSON body and links Okta would send.
pub(crate) fn answer(
    dir: &Directory,
    route: &Route,
    q: &ListQuery,
    here: &Here,
) -> Result<Answer, OktaError> {
    match route {
        Route::User(key) => {
            let e = find_user(dir, key)?;
            Ok(Answer::one(user(dir, e, here.org)))
        }
        Route::Group(id) => {
            let name = find_group(dir, id)?;
            Ok(Answer::one(group(name, here.org)))
        }
        Route::UserGroups(key) => {
            only_paging(q)?;
            let limit = q.limit(DEFAULT_LIMIT)?;
            let e = find_user(dir, key)?;
            let items = groups_of(dir, e)
                .into_iter()
                .map(|g| (okta_group_id(g), group(g, here.org)))
                .collect();
            Ok(paged(items, q, limit, here))
        }
        Route::Groups => {
            only_paging(q)?;
            let limit = q.limit(DEFAULT_LIMIT)?;
            let items = all_groups(dir)
                .into_iter()
                .map(|g| (okta_group_id(g), group(g, here.org)))
                .collect();
            Ok(paged(items, q, limit, here))
        }
        Route::GroupUsers(id) => {
            only_paging(q)?;
            let limit = q.limit(DEFAULT_LIMIT)?;
            let name = find_group(dir, id)?;
            let items = users(dir, members(dir, name), here.org);
            Ok(paged(items, q, limit, here))
        }
        Route::Users => list_users(dir, q, here),
    }
}

/// `GET /api/v1/users`: without `filter`/`search`, every user but the deactivated ones (Okta's
/// documented default); `q` matches the start of first name, last name or email and then pages
/// by 10 unless `limit` says otherwise, as Okta does.
fn list_users(dir: &Directory, q: &ListQuery, here: &Here) -> Result<Answer, OktaError> {
    let expr = q.filter.as_deref().or(q.search.as_deref());
    let filter = expr.map(Filter::parse).transpose()?;
    let limit = q.limit(if q.q.is_some() { 10 } else { DEFAULT_LIMIT })?;
    let prefix = q.q.as_deref().map(str::to_ascii_lowercase);
    let items: Vec<(String, Value)> = users(dir, dir.okta_users().collect(), here.org)
        .into_iter()
        .filter(|(_, u)| match &filter {
            Some(f) => f.matches(u) && (f.names_status() || u["status"] != "DEPROVISIONED"),
            None => u["status"] != "DEPROVISIONED",
        })
        .filter(|(_, u)| prefix.as_deref().is_none_or(|p| starts_with(u, p)))
        .collect();
    Ok(paged(items, q, limit, here))
}

fn starts_with(user: &Value, prefix: &str) -> bool {
    ["firstName", "lastName", "email"].iter().any(|k| {
        user["profile"][*k]
            .as_str()
            .is_some_and(|v| v.to_ascii_lowercase().starts_with(prefix))
    })
}

/// Collections other than `/users` take only `limit` and `after`; an expression there is one
/// this simulator cannot honour.
fn only_paging(q: &ListQuery) -> Result<(), OktaError> {
    if q.filter.is_some() || q.search.is_some() {
        Err(OktaError::InvalidSearch)
    } else {
        Ok(())
    }
}

fn find_user<'a>(dir: &'a Directory, key: &str) -> Result<&'a Entry, OktaError> {
    dir.okta_user(key).ok_or_else(|| OktaError::NotFound {
        key: key.to_owned(),
        kind: "User",
    })
}

fn find_group<'a>(dir: &'a Directory, id: &str) -> Result<&'a str, OktaError> {
    group_by_id(dir, id).ok_or_else(|| OktaError::NotFound {
        key: id.to_owned(),
        kind: "UserGroup",
    })
}

fn users(dir: &Directory, entries: Vec<&Entry>, org: &str) -> Vec<(String, Value)> {
    entries
        .into_iter()
        .map(|e| (e.okta_id.clone(), user(dir, e, org)))
        .collect()
}

fn paged(items: Vec<(String, Value)>, q: &ListQuery, limit: usize, here: &Here) -> Answer {
    let (body, next) = page(items, q.after.as_deref(), limit);
    Answer {
        body: Value::Array(body),
        links: links(&here.url(), q, limit, next.as_deref()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segs(path: &str) -> Vec<String> {
        path.split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn resolves_served_paths_only() {
        assert_eq!(resolve(&segs("/api/v1/users")), Some(Route::Users));
        assert_eq!(
            resolve(&segs("/api/v1/users/a@b.c/groups")),
            Some(Route::UserGroups("a@b.c".into()))
        );
        assert_eq!(
            resolve(&segs("/api/v1/groups/00g1/users")),
            Some(Route::GroupUsers("00g1".into()))
        );
        assert_eq!(resolve(&segs("/api/v1/apps")), None);
        assert_eq!(resolve(&segs("/api/v2/users")), None);
        assert_eq!(resolve(&segs("/api/v1/users/x/factors")), None);
    }
}
