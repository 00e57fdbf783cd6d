//! The Graph v1.0 resources served: users (list, one, manager, memberOf, transitiveMemberOf,
//! directReports) and groups (list, one, members, transitiveMembers), with the type casts
//! clients use to narrow directory-object collections. Segments match case-insensitively, as
//! Graph's do. Query options are validated before the resource is looked up, because Graph
//! parses the URL before it reads the directory.

use super::error::GraphError;
use super::filter::Filter;
use super::query::{ODataQuery, skiptoken};
use super::render::{
    GROUP_DEFAULT, GROUP_PROPERTIES, GROUP_TYPE, USER_DEFAULT, USER_PROPERTIES, USER_TYPE, group,
    groups, project, user, users,
};
use crate::directory::Directory;
use crate::encoding::encode_query_value;
use serde_json::{Map, Value, json};

const METADATA: &str = "https://graph.microsoft.com/v1.0/$metadata";

/// A resolved Graph resource path (after `/v1.0`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    Users,
    User(String),
    Manager(String),
    /// `memberOf` / `transitiveMemberOf` (groups are flat here, so both are the same); `true`
    /// when cast to `microsoft.graph.group`.
    MemberOf(String, bool),
    DirectReports(String, bool),
    Groups,
    Group(String),
    /// `members` / `transitiveMembers`; `true` when cast to `microsoft.graph.user`.
    Members(String, bool),
}

/// Resolves decoded path segments, or names the first segment Graph would not recognise (the
/// one after the longest prefix that is a resource).
pub(crate) fn resolve(segs: &[String]) -> Result<Route, GraphError> {
    if let Some(route) = exact(segs) {
        return Ok(route);
    }
    let known_prefix = (1..segs.len())
        .rev()
        .find(|n| exact(&segs[..*n]).is_some())
        .unwrap_or(0);
    Err(GraphError::UnknownSegment(
        segs.get(known_prefix).cloned().unwrap_or_default(),
    ))
}

fn exact(segs: &[String]) -> Option<Route> {
    let lower: Vec<String> = segs.iter().map(|s| s.to_ascii_lowercase()).collect();
    let l: Vec<&str> = lower.iter().map(String::as_str).collect();
    let id = || segs.get(1).cloned().unwrap_or_default();
    Some(match l.as_slice() {
        ["users"] => Route::Users,
        ["users", _] => Route::User(id()),
        ["users", _, "manager"] => Route::Manager(id()),
        ["users", _, "memberof" | "transitivememberof"] => Route::MemberOf(id(), false),
        [
            "users",
            _,
            "memberof" | "transitivememberof",
            "microsoft.graph.group",
        ] => Route::MemberOf(id(), true),
        ["users", _, "directreports"] => Route::DirectReports(id(), false),
        ["users", _, "directreports", "microsoft.graph.user"] => Route::DirectReports(id(), true),
        ["groups"] => Route::Groups,
        ["groups", _] => Route::Group(id()),
        ["groups", _, "members" | "transitivemembers"] => Route::Members(id(), false),
        [
            "groups",
            _,
            "members" | "transitivemembers",
            "microsoft.graph.user",
        ] => Route::Members(id(), true),
        _ => return None,
    })
}

/// Where a nextLink points: the absolute URL of this collection, without its query.
pub(crate) struct LinkBase<'a>(pub &'a str);

/// Answers a GET on `route` with the JSON body Graph would send.
pub(crate) fn answer(
    dir: &Directory,
    route: &Route,
    q: &ODataQuery,
    link: &LinkBase,
) -> Result<Value, GraphError> {
    match route {
        Route::User(key) => {
            let sel = q.select(USER_PROPERTIES, USER_TYPE)?;
            let e = dir
                .graph_user(key)
                .ok_or_else(|| GraphError::NotFound(key.clone()))?;
            Ok(entity(
                "users",
                sel.as_deref(),
                USER_DEFAULT,
                &user(e),
                None,
            ))
        }
        Route::Manager(key) => {
            let sel = q.select(USER_PROPERTIES, USER_TYPE)?;
            let e = dir
                .graph_user(key)
                .ok_or_else(|| GraphError::NotFound(key.clone()))?;
            let m = dir
                .graph_manager(e)
                .ok_or_else(|| GraphError::NotFound("manager".into()))?;
            Ok(entity(
                "directoryObjects",
                sel.as_deref(),
                USER_DEFAULT,
                &user(m),
                Some(USER_TYPE),
            ))
        }
        Route::Group(id) => {
            let sel = q.select(GROUP_PROPERTIES, GROUP_TYPE)?;
            let name = dir
                .group_by_id(id)
                .ok_or_else(|| GraphError::NotFound(id.clone()))?;
            Ok(entity(
                "groups",
                sel.as_deref(),
                GROUP_DEFAULT,
                &group(name),
                None,
            ))
        }
        Route::Users => {
            let page = Page::new(q, USER_PROPERTIES, USER_TYPE, "User")?;
            page.render(users(dir.graph_users()), "users", None, link)
        }
        Route::Groups => {
            let page = Page::new(q, GROUP_PROPERTIES, GROUP_TYPE, "Group")?;
            let all = groups(dir.groups().iter().map(String::as_str));
            page.render(all, "groups", None, link)
        }
        Route::MemberOf(key, cast) => {
            let page = Page::new(q, GROUP_PROPERTIES, GROUP_TYPE, "Group")?;
            let e = dir
                .graph_user(key)
                .ok_or_else(|| GraphError::NotFound(key.clone()))?;
            let all = groups(dir.groups_of(e).into_iter());
            let (set, tag) = collection("groups", GROUP_TYPE, *cast);
            page.render(all, set, tag, link)
        }
        Route::DirectReports(key, cast) => {
            let page = Page::new(q, USER_PROPERTIES, USER_TYPE, "User")?;
            let e = dir
                .graph_user(key)
                .ok_or_else(|| GraphError::NotFound(key.clone()))?;
            let (set, tag) = collection("users", USER_TYPE, *cast);
            page.render(users(dir.graph_reports(e)), set, tag, link)
        }
        Route::Members(id, cast) => {
            let page = Page::new(q, USER_PROPERTIES, USER_TYPE, "User")?;
            let name = dir
                .group_by_id(id)
                .ok_or_else(|| GraphError::NotFound(id.clone()))?;
            let (set, tag) = collection("users", USER_TYPE, *cast);
            page.render(users(dir.members_of(name)), set, tag, link)
        }
    }
}

/// A directory-object collection is `directoryObjects` with each item's `@odata.type`; cast to
/// one type it is that type's set and the items need no tag.
fn collection(
    set: &'static str,
    type_name: &'static str,
    cast: bool,
) -> (&'static str, Option<&'static str>) {
    if cast {
        (set, None)
    } else {
        ("directoryObjects", Some(type_name))
    }
}

fn context(set: &str, sel: Option<&[&str]>) -> String {
    match sel {
        Some(s) => format!("{METADATA}#{set}({})", s.join(",")),
        None => format!("{METADATA}#{set}"),
    }
}

fn entity(
    set: &str,
    sel: Option<&[&str]>,
    default: &[&str],
    full: &Map<String, Value>,
    tag: Option<&str>,
) -> Value {
    let mut body = project(full, sel.unwrap_or(default), tag);
    if let Value::Object(m) = &mut body {
        m.insert(
            "@odata.context".into(),
            json!(format!("{}/$entity", context(set, sel))),
        );
    }
    body
}

/// One validated page request over a collection.
struct Page<'q> {
    q: &'q ODataQuery,
    select: Option<Vec<&'static str>>,
    default: &'static [&'static str],
    filter: Option<Filter>,
    top: usize,
    offset: usize,
}

impl<'q> Page<'q> {
    fn new(
        q: &'q ODataQuery,
        known: &'static [&'static str],
        type_name: &'static str,
        resource: &'static str,
    ) -> Result<Self, GraphError> {
        let default = if type_name == USER_TYPE {
            USER_DEFAULT
        } else {
            GROUP_DEFAULT
        };
        Ok(Self {
            q,
            select: q.select(known, type_name)?,
            default,
            filter: q
                .filter
                .as_deref()
                .filter(|f| !f.trim().is_empty())
                .map(|f| Filter::parse(f, known, resource))
                .transpose()?,
            top: q.page_size()?,
            offset: q.offset()?,
        })
    }

    fn render(
        &self,
        all: Vec<Map<String, Value>>,
        set: &str,
        tag: Option<&str>,
        link: &LinkBase,
    ) -> Result<Value, GraphError> {
        let matching: Vec<Map<String, Value>> = all
            .into_iter()
            .filter(|m| self.filter.as_ref().is_none_or(|f| f.matches(m)))
            .collect();
        let props = self.select.as_deref().unwrap_or(self.default);
        let value: Vec<Value> = matching
            .iter()
            .skip(self.offset)
            .take(self.top)
            .map(|m| project(m, props, tag))
            .collect();
        let mut body = Map::new();
        body.insert(
            "@odata.context".into(),
            json!(context(set, self.select.as_deref())),
        );
        let next = self.offset.saturating_add(self.top);
        if next < matching.len() {
            body.insert("@odata.nextLink".into(), json!(self.next_link(link, next)));
        }
        body.insert("value".into(), Value::Array(value));
        Ok(Value::Object(body))
    }

    /// The same request from `offset` on: the caller's options kept, `$skiptoken` replaced.
    fn next_link(&self, link: &LinkBase, offset: usize) -> String {
        let mut parts: Vec<String> = Vec::new();
        let mut keep = |k: &str, v: &Option<String>| {
            if let Some(v) = v {
                parts.push(format!("{k}={}", encode_query_value(v)));
            }
        };
        keep("$select", &self.q.select);
        keep("$filter", &self.q.filter);
        keep("$top", &self.q.top);
        parts.push(format!("$skiptoken={}", skiptoken(offset)));
        format!("{}?{}", link.0, parts.join("&"))
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
    fn resolves_known_paths_case_insensitively() {
        assert_eq!(resolve(&segs("users")), Ok(Route::Users));
        assert_eq!(
            resolve(&segs("Users/abc/MemberOf/microsoft.graph.group")),
            Ok(Route::MemberOf("abc".into(), true))
        );
        assert_eq!(
            resolve(&segs("groups/g/members")),
            Ok(Route::Members("g".into(), false))
        );
    }

    #[test]
    fn names_the_unknown_segment() {
        let seg = |p: &str| match resolve(&segs(p)) {
            Err(GraphError::UnknownSegment(s)) => s,
            other => format!("{other:?}"),
        };
        assert_eq!(seg("devices"), "devices");
        assert_eq!(seg("users/x/photos"), "photos");
        assert_eq!(
            seg("users/x/memberOf/microsoft.graph.user"),
            "microsoft.graph.user"
        );
        assert_eq!(seg("users/x/memberOf/microsoft.graph.group/y"), "y");
    }
}
