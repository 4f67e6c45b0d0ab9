//! PLACEHOLDER: in-memory host for simulate / scenarios.
