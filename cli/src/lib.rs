//! loadout-cli
