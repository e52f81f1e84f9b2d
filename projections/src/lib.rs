//! rollcall-projections
