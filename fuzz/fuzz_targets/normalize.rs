#![no_main]
//! Fuzz target `normalize`: see `fuzz/checks.rs` (`checks::normalize_target`) for what is asserted.

use libfuzzer_sys::fuzz_target;

#[path = "../checks.rs"]
mod checks;

fuzz_target!(|data: &[u8]| {
    checks::normalize_target(data);
});
