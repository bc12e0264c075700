//! Compile-fail tests and expansion snapshots of the macros (they arrive with the macros issue).
