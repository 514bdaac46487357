//! The program every hello binary runs, written once. Each `hello-<arch>` crate supplies
//! only what differs between architectures: the two system calls, as inline asm, and
//! the `_start` symbol. With LTO and `#[inline(always)]` all of it folds into `_start`.
#![no_std]

/// The bytes to print, fixed at build time (see build.rs).
pub static MESSAGE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/message"));

/// The two Linux system calls a hello binary needs, implemented per architecture.
pub trait Kernel {
    /// `write(fd, buf.as_ptr(), buf.len())`: bytes written, or 0 or a negative errno
    /// on error (never a positive errno, as PowerPC and MIPS kernels return one).
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
/// A closed stdout (EBADF) or /dev/full (ENOSPC) gives an error result: status 1.
#[inline(always)]
pub fn main<K: Kernel>() -> ! {
    let written = K::write(1, MESSAGE);
    K::exit((written != MESSAGE.len() as isize) as usize)
}

/// The entry point and panic handler of a hello binary, for its `Kernel`:
/// `hello::entry!(Linux);` in each `hello-<arch>` crate.
///
/// Nothing here can panic (no indexing, no arithmetic that overflows), so the panic
/// handler is never linked in; it exits 101, as a Rust program that panics does.
#[macro_export]
macro_rules! entry {
    ($kernel:ty) => {
        #[unsafe(no_mangle)]
        extern "C" fn _start() -> ! {
            $crate::main::<$kernel>()
        }

        #[panic_handler]
        fn panic(_: &core::panic::PanicInfo) -> ! {
            <$kernel as $crate::Kernel>::exit(101)
        }
    };
}
