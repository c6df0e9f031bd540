#![no_main]
//! Fuzz target `files`: see `fuzz/checks.rs` (`checks::files`) for what is asserted.

use libfuzzer_sys::fuzz_target;

#[path = "../checks.rs"]
mod checks;

fuzz_target!(|data: &[u8]| {
    checks::files(data);
});
