//! rollcall-aggregates
