//! The in-memory side: every tenant's state, swapped in after each committed batch.
