//! Who a person is in UEM. HR systems name people by employee id; UEM's enrollment users come
//! from AD or Entra and carry an account name, a UPN or an e-mail address. A person is matched to
//! their enrollment user by an ordered list of attributes (`LOADOUT_UEM_USER_MATCH`), compared
//! case-insensitively; a person UEM does not know yet is parked, not failed.
//!
//! - `matching`: the rule list and the pure matcher (data in, outcome out).

pub mod matching;

pub use matching::{MatchAttribute, MatchOutcome, UnknownMatchAttribute, UserMatch, match_person};
