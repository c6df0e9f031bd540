#![no_main]
//! Fuzz target `pipeline`: see `fuzz/checks.rs` (`checks::pipeline_target`) for what is asserted.

use libfuzzer_sys::fuzz_target;

#[path = "../checks.rs"]
mod checks;

fuzz_target!(|data: &[u8]| {
    checks::pipeline_target(data);
});
