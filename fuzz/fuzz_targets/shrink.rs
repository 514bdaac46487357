//! Any bytes through the minimizer, with and without packing the code: it may
//! refuse them (a `Refusal`, one line for the user), never panic and never fail its
//! own verification (a `Bug`: this target panics, so libFuzzer keeps the input); what
//! it accepts must shrink again to itself. tests/shrink.rs replays the corpus through
//! the same check.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(broken) = xtask::elf::check_contract(data) {
        panic!("{broken}");
    }
});
