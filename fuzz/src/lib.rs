//! Baton's fuzz targets as plain functions: `fuzz_targets/*.rs` hand them the fuzzer's bytes,
//! and crates/runtime/tests/fuzz_regressions.rs replays `fuzz/regressions/` through the same
//! functions on stable. See fuzz/README.md.

pub mod engine_side;
pub mod runtime_side;

pub use engine_side::{bpmn, script};
pub use runtime_side::{
    doors, doors_reusing, scenario, webhook_signatures, webhook_signatures_reusing,
};
