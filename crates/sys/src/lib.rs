//! The Linux system calls our programs make, written once for every architecture.
//!
//! A program crate (`hello`, `pause`) uses only this crate. It picks the syscall crate
//! of the target (`sys-<arch>`: the instruction and registers, in inline asm) and takes
//! the system call numbers and flag values from `linux-raw-sys`, which generates them
//! from Linux's own headers for each architecture.
//!
//! Every wrapper is `#[inline(always)]`: with LTO a program folds into its `_start`,
//! and a call costs bytes on every architecture.
//!
//! Results: a system call's value on success; on error a negative errno, or 0 where
//! the kernel reports errors by a flag (PowerPC's CR0.SO, MIPS's $7) with a positive
//! errno that could pass for a result. So `result <= 0` is an error or "nothing".
#![no_std]

#[doc(hidden)]
pub mod arch;

use linux_raw_sys::general as linux;

pub use linux::{SIGCHLD, SIGINT, SIGTERM, WNOHANG};

/// `write(fd, buf, len)`: bytes written, or a result <= 0 on error.
#[inline(always)]
pub fn write(fd: usize, buf: &[u8]) -> isize {
    // SAFETY: write(2) only reads `buf`, which is valid for its length.
    unsafe { arch::syscall3::<{ linux::__NR_write as usize }>(fd, buf.as_ptr() as usize, buf.len()) }
}

/// `exit(status)`: ends the process (one thread: ours never start another).
#[inline(always)]
pub fn exit(status: usize) -> ! {
    arch::exit::<{ linux::__NR_exit as usize }>(status)
}

/// `getpid()`.
#[inline(always)]
pub fn getpid() -> isize {
    // SAFETY: no arguments, no memory.
    unsafe { arch::syscall0::<{ linux::__NR_getpid as usize }>() }
}

/// `wait4(pid, NULL, options, NULL)`: the pid of a child that changed state, 0 when
/// none did (WNOHANG), or a result <= 0 on error (ECHILD: no children at all).
#[inline(always)]
pub fn wait4(pid: isize, options: u32) -> isize {
    // SAFETY: null status and rusage pointers: the kernel writes nothing.
    unsafe { arch::syscall4::<{ linux::__NR_wait4 as usize }>(pid as usize, 0, options as usize, 0) }
}

/// A kernel signal set: `_NSIG` bits in native words (64 signals, 128 on MIPS), as
/// rt_sigprocmask(2) and rt_sigtimedwait(2) read it.
#[repr(C)]
pub struct SigSet([usize; SIGSET_WORDS]);

const SIGSET_WORDS: usize = linux::_NSIG as usize / usize::BITS as usize;

impl SigSet {
    /// The set holding exactly `signals`.
    pub const fn of(signals: &[u32]) -> SigSet {
        let mut words = [0; SIGSET_WORDS];
        let mut i = 0;
        while i < signals.len() {
            let bit = signals[i] as usize - 1;
            words[bit / usize::BITS as usize] |= 1 << (bit % usize::BITS as usize);
            i += 1;
        }
        SigSet(words)
    }
}

/// `rt_sigprocmask(SIG_BLOCK, set, NULL)`: add `set` to the blocked signals. A blocked
/// signal stays pending until taken, even one whose action is the default and that
/// the kernel would drop for PID 1 of a namespace.
#[inline(always)]
pub fn block(set: &SigSet) -> isize {
    // SAFETY: the kernel reads `set` (size_of SigSet bytes, as it expects); no old set.
    unsafe {
        arch::syscall4::<{ linux::__NR_rt_sigprocmask as usize }>(
            linux::SIG_BLOCK as usize,
            set as *const SigSet as usize,
            0,
            size_of::<SigSet>(),
        )
    }
}

/// `rt_sigtimedwait(set, NULL, NULL)`: wait until a signal of `set` (blocked) is
/// pending and take it: its number, or a result <= 0 on error (EINTR).
#[inline(always)]
pub fn wait_signal(set: &SigSet) -> isize {
    // SAFETY: the kernel reads `set`; no siginfo, no timeout.
    unsafe {
        arch::syscall4::<{ linux::__NR_rt_sigtimedwait as usize }>(
            set as *const SigSet as usize,
            0,
            0,
            size_of::<SigSet>(),
        )
    }
}

/// The program's arguments, as the kernel put them on the initial stack: argc, then
/// argc pointers to NUL-terminated strings, then a null pointer.
pub struct Args {
    argv: *const *const u8,
}

impl Args {
    /// # Safety
    /// `stack` is the stack pointer the process started with (see `entry_with_args!`).
    #[inline(always)]
    pub unsafe fn from_stack(stack: *const usize) -> Args {
        // SAFETY: the kernel puts argc at the initial stack pointer, argv after it.
        Args { argv: unsafe { stack.add(1) } as *const *const u8 }
    }

    /// Whether any argument after the program's name is `-<letter>`, the letter's
    /// case ignored (as pause.c's strcasecmp). `letter` is lower case.
    #[inline(always)]
    pub fn any_is_flag(&self, letter: u8) -> bool {
        // Walk to argv's null pointer rather than count to argc: no counter to keep.
        // (With argc = 0, which only kernels before 5.18 allow, the walk reads the
        // environment's strings instead, up to its own null pointer.)
        let mut arg = self.argv;
        loop {
            // SAFETY: argv[0..argc] are followed by a null pointer, and the walk stops
            // there; argv[0] (the name) is skipped.
            let s = unsafe {
                arg = arg.add(1);
                *arg
            };
            if s.is_null() {
                return false;
            }
            // SAFETY: a NUL-terminated string, each byte read only when those before
            // it are not NUL (&& stops at the first miss).
            if unsafe { *s == b'-' && *s.add(1) | 0x20 == letter && *s.add(2) == 0 } {
                return true;
            }
        }
    }
}

/// Nothing in our programs panics (they index nothing and never overflow), so this is
/// never linked in; it would exit 101, as a Rust program that panics does.
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    exit(101)
}

/// `_start` for a program that needs nothing from its stack: `sys::entry!(main)`,
/// `fn main() -> !`. A plain Rust function: no glue at all. Mark `main`
/// `#[inline(always)]`: LLVM treats a function that never returns as cold and would
/// call it rather than inline it.
#[macro_export]
macro_rules! entry {
    ($main:path) => {
        #[unsafe(no_mangle)]
        extern "C" fn _start() -> ! {
            $main()
        }
    };
}

/// `_start` for a program that reads its arguments: `sys::entry_with_args!(main)`,
/// `fn main(args: sys::Args) -> !` (`#[inline(always)]`, as for `entry!`). The arch's
/// glue hands the initial stack pointer on, since no Rust function can see it.
#[macro_export]
macro_rules! entry_with_args {
    ($main:path) => {
        extern "C" fn __main_with_stack(stack: *const usize) -> ! {
            // SAFETY: the glue passes the stack pointer the process started with.
            $main(unsafe { $crate::Args::from_stack(stack) })
        }
        $crate::arch::start_with_stack!(__main_with_stack);
    };
}
