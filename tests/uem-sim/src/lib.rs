//! uem-sim
