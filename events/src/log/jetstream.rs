//! The JetStream event log (filled in by the log work).
