//! The embedded event log in sled (filled in by the log work).
