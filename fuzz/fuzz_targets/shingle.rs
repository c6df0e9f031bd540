#![no_main]
//! Fuzz target `shingle`: see `fuzz/checks.rs` (`checks::shingle_target`) for what is asserted.

use libfuzzer_sys::fuzz_target;

#[path = "../checks.rs"]
mod checks;

fuzz_target!(|data: &[u8]| {
    checks::shingle_target(data);
});
