//! rollcall-replay
