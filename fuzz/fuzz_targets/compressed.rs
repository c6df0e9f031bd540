#![no_main]
//! Fuzz target `compressed`: see `fuzz/checks.rs` (`checks::compressed`) for what is asserted.

use libfuzzer_sys::fuzz_target;

#[path = "../checks.rs"]
mod checks;

fuzz_target!(|data: &[u8]| {
    checks::compressed(data);
});
