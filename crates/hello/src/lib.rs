//! The program every hello binary runs, written once. Each `hello-<arch>` crate supplies
//! only what differs between architectures: the two system calls, as inline asm, and
//! the `_start` symbol. With LTO and `#[inline(always)]` all of it folds into `_start`.
#![no_std]

/// The bytes to print, fixed at build time (see build.rs).
pub static MESSAGE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/message"));

/// The two Linux system calls a hello binary needs, implemented per architecture.
pub trait Kernel {
    /// `write(fd, buf.as_ptr(), buf.len())`: bytes written, or a negative errno.
    fn write(fd: usize, buf: &[u8]) -> isize;
    /// `exit(status)`: never returns.
    fn exit(status: usize) -> !;
}

/// Write the message to stdout in one call; exit 0 only if all of it was written.
///
/// One `write` and no retry loop: the loop costs 8 to 16 bytes of code on every
/// architecture. The message is at most 4096 bytes (PIPE_BUF), so a write to a pipe is
/// atomic, and a write to a file or terminal is short only on error (a full disk, a
/// signal), which then shows as exit status 1, as `/bin/echo` reports its errors.
/// A closed stdout (EBADF) or /dev/full (ENOSPC) gives a negative result: status 1.
#[inline(always)]
pub fn main<K: Kernel>() -> ! {
    let written = K::write(1, MESSAGE);
    K::exit((written != MESSAGE.len() as isize) as usize)
}
