//! Drift made by hand, as an admin makes it in the console: two members taken out of Loadout's
//! largest group, someone added to a group of an app they are not entitled to, and a group
//! deleted (with its assignment, the way the console lets it go).

use uem_sim::{GroupView, SimHandle};

/// What was changed, for the printout.
#[derive(Debug, Clone)]
pub struct HandDrift {
    pub removed: (String, Vec<String>),
    pub added: (String, String),
    pub deleted: (String, usize),
}

impl HandDrift {
    pub fn describe(&self) -> String {
        format!(
            "removed {} from {}; added {} to {}; deleted {} ({} members)",
            self.removed.1.join(", "),
            self.removed.0,
            self.added.1,
            self.added.0,
            self.deleted.0,
            self.deleted.1
        )
    }
}

/// The app part of a Loadout group name (`loadout:<app>[:on-demand][#NN]`).
fn app_of(name: &str) -> &str {
    let rest = name.strip_prefix("loadout:").unwrap_or(name);
    let rest = rest.split('#').next().unwrap_or(rest);
    rest.split(':').next().unwrap_or(rest)
}

pub fn make(sim: &SimHandle, usernames: &[String]) -> Result<HandDrift, String> {
    let mut groups: Vec<GroupView> = sim
        .groups()
        .into_iter()
        .filter(|g| g.name.starts_with("loadout:"))
        .collect();
    // Largest first, then by name, so the same tenant always gets the same drift.
    groups.sort_by(|a, b| b.users.len().cmp(&a.users.len()).then(a.name.cmp(&b.name)));
    if groups.len() < 3 {
        return Err(format!("{} Loadout groups; 3 needed", groups.len()));
    }
    let reject = |e: uem_sim::Rejection| format!("{e:?}");

    let largest = &groups[0];
    if largest.users.len() < 3 {
        return Err(format!("{} has fewer than 3 members", largest.name));
    }
    let removed: Vec<String> = largest.users[..2].to_vec();
    for user in &removed {
        sim.remove_group_member(largest.id, user).map_err(reject)?;
    }

    // The smallest group of another app, and the first user who holds that app nowhere.
    let other = groups
        .iter()
        .rev()
        .find(|g| app_of(&g.name) != app_of(&largest.name))
        .ok_or("no group of a second app")?;
    let holders: std::collections::BTreeSet<&String> = groups
        .iter()
        .filter(|g| app_of(&g.name) == app_of(&other.name))
        .flat_map(|g| g.users.iter())
        .collect();
    let stranger = usernames
        .iter()
        .find(|u| !holders.contains(u))
        .ok_or("everyone holds the app")?;
    sim.add_group_member(other.id, stranger).map_err(reject)?;

    // The next smallest group of a third app.
    let third = groups
        .iter()
        .rev()
        .find(|g| {
            app_of(&g.name) != app_of(&largest.name) && app_of(&g.name) != app_of(&other.name)
        })
        .ok_or("no group of a third app")?;
    sim.delete_group_and_assignments(third.id).map_err(reject)?;

    Ok(HandDrift {
        removed: (largest.name.clone(), removed),
        added: (other.name.clone(), stranger.clone()),
        deleted: (third.name.clone(), third.users.len()),
    })
}

#[cfg(test)]
mod tests {
    use super::app_of;

    #[test]
    fn the_app_of_a_group_name_ignores_mode_and_shard() {
        assert_eq!(app_of("loadout:slack"), "slack");
        assert_eq!(app_of("loadout:notion:on-demand"), "notion");
        assert_eq!(app_of("loadout:gen-app-01#03"), "gen-app-01");
        assert_eq!(app_of("loadout:gen-app-09:on-demand#01"), "gen-app-09");
    }
}
