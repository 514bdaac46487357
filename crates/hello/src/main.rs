//! hello: write the message to stdout in one call; exit 0 only if all of it was written.
//!
//! One `write` and no retry loop: the loop costs 8 to 16 bytes of code on every
//! architecture. The message is at most 4096 bytes (PIPE_BUF), so a write to a pipe is
//! atomic, and a write to a file or terminal is short only on error (a full disk, a
//! signal). Any failure exits non-zero: with the message's shortfall where that is
//! never 0 mod 256 (208 on /dev/full with the default message), else 1 (see
//! `sys::write_status`).
#![no_std]
#![no_main]

/// The bytes to print, fixed at build time (see build.rs).
const MESSAGE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/message"));

#[inline(always)] // into _start: a call costs bytes, and LLVM never inlines a `-> !` function by itself
fn main() -> ! {
    let written = sys::write(1, MESSAGE);
    // `--cfg exit_by_comparison`: status 1 on any failure, only so that `cargo xtask
    // techniques` can measure what the shortfall saves.
    #[cfg(not(exit_by_comparison))]
    let status = sys::write_status::<{ MESSAGE.len() }>(written);
    #[cfg(exit_by_comparison)]
    let status = (written != MESSAGE.len() as isize) as usize;
    sys::exit(status)
}

sys::entry!(main);
