#![no_main]
//! Fuzz target `jsonl_reader`: see `fuzz/checks.rs` (`checks::jsonl_reader`) for what is asserted.

use libfuzzer_sys::fuzz_target;

#[path = "../checks.rs"]
mod checks;

fuzz_target!(|data: &[u8]| {
    checks::jsonl_reader(data);
});
