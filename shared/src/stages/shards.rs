//! How an app's Loadout groups are split into shards in large tenants. A smart-group PUT replaces
//! the whole group, so a group of 100,000 users would be re-sent whole for every change; split
//! into shards of a bounded size, a change re-sends one shard.
//!
//! A member's shard is a stable hash of their UEM user id modulo the shard count, so it can be
//! computed from a group's member list alone. The count is a power of two: doubling it moves
//! only the members whose next hash bit is set, halving merges pairs.

use crate::domain::{AppId, PushMode};
use sha2::{Digest, Sha256};

/// Groups fill to this share of the maximum before the app is split further, so that a burst of
/// joiners between two splits does not push a shard over the limit.
const FILL: f64 = 0.8;

/// The shard a UEM user belongs in, among `count`.
pub fn shard_of(uem_user_id: i64, count: u32) -> u32 {
    if count <= 1 {
        return 0;
    }
    let digest = Sha256::digest(uem_user_id.to_le_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    (u64::from_le_bytes(first) % u64::from(count)) as u32
}

/// The shard count for `members` users when groups may hold `max_size`: the smallest power of two
/// that keeps every shard under the fill line on average, never fewer than `current / 2` at once
/// (shrinking one step at a time), and shrinking only below a quarter of capacity (so that a
/// population near a boundary does not split and merge back and forth).
pub fn shard_count(members: usize, max_size: usize, current: u32) -> u32 {
    let per_shard = ((max_size.max(1) as f64) * FILL).max(1.0);
    let mut needed = 1u32;
    while (needed as f64) * per_shard < members as f64 && needed < 1 << 16 {
        needed *= 2;
    }
    let current = current.max(1);
    if needed >= current {
        return needed;
    }
    // Shrink only when the population would fit in a quarter of the current shards.
    if (members as f64) < per_shard * f64::from(current) / 4.0 {
        (current / 2).max(needed)
    } else {
        current
    }
}

/// The group's name: `loadout:<app>` (`:on-demand` for Hub delivery), and `#NN` for shards after
/// the first, so admins filter on `loadout:` and an unsharded app keeps its one name.
pub fn group_name(app: &AppId, mode: PushMode, shard: u32) -> String {
    let base = match mode {
        PushMode::Auto => format!("loadout:{app}"),
        PushMode::OnDemand => format!("loadout:{app}:on-demand"),
    };
    if shard == 0 {
        base
    } else {
        format!("{base}#{shard:02}")
    }
}

/// Reads a Loadout group name back: the app, push mode and shard. `None` for any other name
/// (a group Loadout did not create is never changed).
pub fn parse_group_name(name: &str) -> Option<(AppId, PushMode, u32)> {
    let rest = name.strip_prefix("loadout:")?;
    let (rest, shard) = match rest.rsplit_once('#') {
        Some((head, digits)) => {
            if digits.len() < 2 || !digits.chars().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let shard: u32 = digits.parse().ok()?;
            if shard == 0 {
                return None;
            }
            (head, shard)
        }
        None => (rest, 0),
    };
    let (app, mode) = match rest.strip_suffix(":on-demand") {
        Some(app) => (app, PushMode::OnDemand),
        None => (rest, PushMode::Auto),
    };
    let valid = !app.is_empty()
        && app
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    valid.then(|| (AppId::new(app), mode, shard))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_member_always_lands_in_the_same_shard() {
        for id in [1_i64, 42, 100_017, i64::MAX] {
            assert_eq!(shard_of(id, 8), shard_of(id, 8));
            assert!(shard_of(id, 8) < 8);
            assert_eq!(shard_of(id, 1), 0);
        }
    }

    #[test]
    fn doubling_moves_only_members_whose_next_bit_is_set() {
        for id in 0..2_000_i64 {
            let before = shard_of(id, 4);
            let after = shard_of(id, 8);
            assert!(
                after == before || after == before + 4,
                "{id}: {before} -> {after}"
            );
        }
    }

    #[test]
    fn shards_spread_members_evenly() {
        let mut counts = [0usize; 16];
        for id in 0..16_000_i64 {
            counts[shard_of(id, 16) as usize] += 1;
        }
        assert!(
            counts.iter().all(|c| (800..1_200).contains(c)),
            "{counts:?}"
        );
    }

    #[test]
    fn the_count_grows_in_powers_of_two_and_shrinks_with_hysteresis() {
        assert_eq!(shard_count(0, 5_000, 1), 1);
        assert_eq!(shard_count(4_000, 5_000, 1), 1);
        assert_eq!(shard_count(4_001, 5_000, 1), 2);
        assert_eq!(shard_count(100_000, 5_000, 1), 32);
        assert_eq!(shard_count(50_000, 5_000, 32), 32, "half full: keep");
        assert_eq!(
            shard_count(20_000, 5_000, 32),
            16,
            "a quarter: halve, one step"
        );
        assert_eq!(shard_count(0, 5_000, 2), 1);
    }

    #[test]
    fn names_round_trip() {
        let app = AppId::new("microsoft-teams");
        for (mode, shard, name) in [
            (PushMode::Auto, 0, "loadout:microsoft-teams"),
            (PushMode::OnDemand, 0, "loadout:microsoft-teams:on-demand"),
            (PushMode::Auto, 3, "loadout:microsoft-teams#03"),
            (
                PushMode::OnDemand,
                12,
                "loadout:microsoft-teams:on-demand#12",
            ),
        ] {
            assert_eq!(group_name(&app, mode, shard), name);
            assert_eq!(parse_group_name(name), Some((app.clone(), mode, shard)));
        }
    }

    #[test]
    fn other_names_are_not_loadouts() {
        for name in [
            "Sales - Austin",
            "loadout:",
            "loadout:Slack",
            "loadout:slack#1",
            "loadout:slack#00",
            "loadout:slack#ab",
            "xloadout:slack",
        ] {
            assert_eq!(parse_group_name(name), None, "{name}");
        }
    }
}
