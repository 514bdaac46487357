//! Any bytes through the minimizer, with and without moving the code's tail: it may
//! refuse them (a `Refusal`, one line for the user), never panic; what it accepts must
//! shrink again to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xtask::elf::Options;

fuzz_target!(|data: &[u8]| {
    for move_tail in [false, true] {
        let options = Options { move_tail };
        if let Ok((_, once)) = xtask::elf::shrink(data, options) {
            let (_, twice) = xtask::elf::shrink(&once, options).expect("our own output is refused");
            assert_eq!(once, twice, "shrinking is not idempotent");
        }
    }
});
