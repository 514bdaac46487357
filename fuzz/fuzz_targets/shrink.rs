//! Any bytes through the minimizer: it may refuse them (a `Refusal`, one line for the
//! user), never panic; what it accepts must shrink again to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((_, once)) = xtask::elf::shrink(data) {
        let (_, twice) = xtask::elf::shrink(&once).expect("our own output is refused");
        assert_eq!(once, twice, "shrinking is not idempotent");
    }
});
