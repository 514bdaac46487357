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
// MIPS's inline assembly, for the anchor below, as sys-mips64el's.
#![cfg_attr(target_arch = "mips64", feature(asm_experimental_arch))]

#[doc(hidden)]
pub mod arch;

// An empty input section that crates/link.ld keeps first in the segment: the anchor
// that puts every section of read-only data (each its own, with `--unique`) in front
// of the code. lld places a section the script does not name behind the most similar
// one that holds input sections. (In assembly: a `#[used]` static would carry
// SHF_GNU_RETAIN, for which lld marks the file ELFOSABI_GNU.)
core::arch::global_asm!(".section .hello.data,\"a\"", ".previous");

use core::mem::{MaybeUninit, offset_of, size_of};

use linux_raw_sys::{general as linux, net};

pub use linux::{SIGCHLD, SIGINT, SIGPIPE, SIGTERM, WNOHANG};
pub use net::{AF_INET, AF_INET6, IPV6_V6ONLY, SHUT_WR, SO_REUSEADDR, SOCK_STREAM, SOL_SOCKET};

/// `IPPROTO_IPV6`, a plain number (linux-raw-sys has it in an enum).
pub const IPPROTO_IPV6: u32 = net::IPPROTO_IPV6 as u32;

/// `write(fd, buf, len)`: bytes written, or a result <= 0 on error.
#[inline(always)]
pub fn write(fd: usize, buf: &[u8]) -> isize {
    // SAFETY: write(2) only reads `buf`, which is valid for its length.
    unsafe { arch::syscall3::<{ linux::__NR_write as usize }>(fd, buf.as_ptr() as usize, buf.len()) }
}

/// The exit status that reports a `write` of `LEN` bytes which returned `written`: 0
/// when all of them were written, and never 0 (mod 256, as the kernel keeps it) when
/// not.
///
/// Where `LEN` allows, it is the shortfall `written - LEN`, which costs 3 to 12 bytes
/// less than a comparison. The shortfall of a short count is 1 to `LEN`, non-zero mod
/// 256 when `LEN` < 256; that of an error is non-zero when no result in
/// `arch::ERROR_RESULTS` is `LEN` mod 256. So `/dev/full` (ENOSPC, 28) with a 20-byte
/// message exits 208, and a closed stdout (EBADF, 9) 227; on PowerPC and MIPS both
/// exit 236 (256 - 20). For any other `LEN` (123 bytes and more, 256 and more on
/// PowerPC and MIPS) it is 1.
#[inline(always)]
pub fn write_status<const LEN: usize>(written: isize) -> usize {
    if const { shortfall_is_never_zero(LEN) } {
        written.wrapping_sub(LEN as isize) as usize
    } else {
        (written != LEN as isize) as usize
    }
}

/// Whether `written - len` is non-zero mod 256 for every failed write of `len` bytes.
pub const fn shortfall_is_never_zero(len: usize) -> bool {
    if len == 0 || len > 255 {
        return false;
    }
    let mut i = 0;
    while i < arch::ERROR_RESULTS.len() {
        let mut result = *arch::ERROR_RESULTS[i].start();
        while result <= *arch::ERROR_RESULTS[i].end() {
            if (result - len as isize) % 256 == 0 {
                return false;
            }
            result += 1;
        }
        i += 1;
    }
    true
}

/// `exit(status)`: ends the process (one thread: ours never start another).
#[inline(always)]
pub fn exit(status: usize) -> ! {
    arch::exit::<{ linux::__NR_exit as usize }>(status)
}

/// `write(fd, buf, len)` for a write whose failure changes nothing (a warning on
/// stderr, an answer to a client that left): no result, and on PowerPC and MIPS no instruction to fold an error.
#[inline(always)]
pub fn write_best_effort(fd: usize, buf: &[u8]) {
    // SAFETY: write(2) only reads `buf`, which is valid for its length.
    unsafe { arch::syscall3_raw::<{ linux::__NR_write as usize }>(fd, buf.as_ptr() as usize, buf.len()) };
}

/// `getpid()`, which cannot fail.
#[inline(always)]
pub fn getpid() -> isize {
    // SAFETY: no arguments, no memory.
    unsafe { arch::syscall0_raw::<{ linux::__NR_getpid as usize }>() }
}

/// `wait4(pid, NULL, options, NULL)`: the pid of a child that changed state, 0 when
/// none did (WNOHANG), or a result <= 0 on error (ECHILD: no children at all).
#[inline(always)]
pub fn wait4(pid: isize, options: u32) -> isize {
    // SAFETY: null status and rusage pointers: the kernel writes nothing.
    unsafe { arch::syscall4::<{ linux::__NR_wait4 as usize }>(pid as usize, 0, options as usize, 0) }
}

/// A kernel signal set: `_NSIG` bits in native words (64 signals, 128 on MIPS), as
/// rt_sigprocmask(2) and rt_sigtimedwait(2) read it. Kept as the words' bytes: the
/// kernel copies it from any address, and a set that needs no alignment may lie on
/// any free header bytes (xtask/src/elf/plan.rs, `arrangements`).
#[repr(C)]
pub struct SigSet([u8; SIGSET_WORDS * size_of::<usize>()]);

const SIGSET_WORDS: usize = linux::_NSIG as usize / usize::BITS as usize;

impl SigSet {
    /// The set holding exactly `signals`.
    pub const fn of(signals: &[u32]) -> SigSet {
        let mut words = [0usize; SIGSET_WORDS];
        let mut i = 0;
        while i < signals.len() {
            let bit = signals[i] as usize - 1;
            words[bit / usize::BITS as usize] |= 1 << (bit % usize::BITS as usize);
            i += 1;
        }
        let mut bytes = [0; SIGSET_WORDS * size_of::<usize>()];
        let mut k = 0;
        while k < bytes.len() {
            bytes[k] = words[k / size_of::<usize>()].to_ne_bytes()[k % size_of::<usize>()];
            k += 1;
        }
        SigSet(bytes)
    }
}

/// `rt_sigprocmask(SIG_BLOCK, set, NULL)`: add `set` to the blocked signals. A blocked
/// signal stays pending until taken, even one whose action is the default and that
/// the kernel would drop for PID 1 of a namespace. It cannot fail: SIG_BLOCK, a set in
/// memory we own, the kernel's own set size.
#[inline(always)]
pub fn block(set: &SigSet) {
    // SAFETY: the kernel reads `set` (size_of SigSet bytes, as it expects); no old set.
    unsafe {
        arch::syscall4_raw::<{ linux::__NR_rt_sigprocmask as usize }>(
            linux::SIG_BLOCK as usize,
            set as *const SigSet as usize,
            0,
            size_of::<SigSet>(),
        )
    };
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

/// `read(fd, buf, len)`: bytes read into the start of `buf`, 0 at end of file, or a
/// result <= 0 on error. The bytes read are initialized from then on.
#[inline(always)]
pub fn read(fd: usize, buf: &mut [MaybeUninit<u8>]) -> isize {
    // SAFETY: read(2) writes at most `buf.len()` bytes into `buf`, which we own.
    unsafe { arch::syscall3::<{ linux::__NR_read as usize }>(fd, buf.as_mut_ptr() as usize, buf.len()) }
}

/// `close(fd)`, whose result nobody needs: the descriptor is gone either way.
#[inline(always)]
pub fn close(fd: usize) {
    // SAFETY: no memory; closing a descriptor the program holds.
    unsafe { arch::syscall1_raw::<{ linux::__NR_close as usize }>(fd) };
}

/// `socket(domain, kind, 0)`: a new socket's descriptor, or a result <= 0 on error.
#[inline(always)]
pub fn socket(domain: u32, kind: u32) -> isize {
    // SAFETY: no memory.
    unsafe { arch::syscall3::<{ linux::__NR_socket as usize }>(domain as usize, kind as usize, 0) }
}

/// `setsockopt(fd, level, name, &value, 4)` for the options that take an int. No
/// result: ours are best effort (a failure shows in what comes next).
#[inline(always)]
pub fn setsockopt_int(fd: usize, level: u32, name: u32, value: i32) {
    // SAFETY: the kernel reads the 4 bytes of `value`, which live across the call.
    unsafe {
        arch::syscall5_raw::<{ linux::__NR_setsockopt as usize }>(
            fd,
            level as usize,
            name as usize,
            &value as *const i32 as usize,
            size_of::<i32>(),
        )
    };
}

/// A sockaddr_in6, 8-byte aligned, so that 64-bit machines zero it in whole words
/// (MIPS would otherwise pair unaligned stores).
#[repr(C, align(8))]
struct Aligned6(net::sockaddr_in6);

impl Aligned6 {
    /// `place` zeroed, in the fewer bytes of code of two ways (`arch::ZEROES_BY_WORDS`);
    /// in place: a value returned would be copied (on Thumb, by a memcpy call).
    #[inline(always)]
    fn zeroed(place: &mut MaybeUninit<Aligned6>) -> &mut Aligned6 {
        if arch::ZEROES_BY_WORDS {
            const WORDS: usize = size_of::<Aligned6>() / size_of::<usize>();
            const _: () = assert!(WORDS * size_of::<usize>() == size_of::<Aligned6>());
            let words = place.as_mut_ptr() as *mut usize;
            for i in 0..WORDS {
                // SAFETY: word `i` lies within `place`, which is 8-byte aligned.
                unsafe { words.add(i).write_volatile(0) };
            }
        } else {
            *place = MaybeUninit::zeroed();
        }
        // SAFETY: every byte is zero now: a valid sockaddr_in6 (integers and a byte
        // array).
        unsafe { place.assume_init_mut() }
    }
}

/// `bind(fd, addr, len)` to the wildcard address of `family` (AF_INET6's `::` or
/// AF_INET's 0.0.0.0) on `port`: 0, or -errno on every architecture.
///
/// One zeroed `sockaddr_in6` serves both: a `sockaddr_in` is its first 16 bytes, with
/// the family and the port in the same places and a zero address after them.
#[inline(always)]
pub fn bind_any(fd: usize, family: u32, port: u16) -> isize {
    const _: () = assert!(offset_of!(net::sockaddr_in, sin_port) == offset_of!(net::sockaddr_in6, sin6_port));
    let mut place = MaybeUninit::uninit();
    let addr = Aligned6::zeroed(&mut place);
    addr.0.sin6_family = family as _;
    addr.0.sin6_port = port.to_be();
    // The sockaddr_in6's length for both: IPv4's bind takes any length from a
    // sockaddr_in's up (and reads only that), so no choice to make.
    let len = size_of::<net::sockaddr_in6>();
    // SAFETY: the kernel reads `len` bytes of `addr`, no more than it holds.
    unsafe { arch::syscall3_errno::<{ linux::__NR_bind as usize }>(fd, addr as *const Aligned6 as usize, len) }
}

/// `listen(fd, backlog)`: 0, or -errno on every architecture. The kernel caps the
/// backlog at net.core.somaxconn.
#[inline(always)]
pub fn listen(fd: usize, backlog: u32) -> isize {
    // SAFETY: no memory.
    unsafe { arch::syscall2_errno::<{ linux::__NR_listen as usize }>(fd, backlog as usize) }
}

/// `accept4(fd, NULL, NULL, 0)`: a connection's descriptor, or a result <= 0 on error.
/// accept4 rather than accept: i686 and s390x have no direct accept (only through
/// socketcall), while every architecture has accept4 (i686 since Linux 4.3).
#[inline(always)]
pub fn accept(fd: usize) -> isize {
    // SAFETY: null address pointers: the kernel writes nothing.
    unsafe { arch::syscall4::<{ linux::__NR_accept4 as usize }>(fd, 0, 0, 0) }
}

/// `shutdown(fd, how)`, best effort: no result.
#[inline(always)]
pub fn shutdown(fd: usize, how: u32) {
    // SAFETY: no memory.
    unsafe { arch::syscall2_raw::<{ linux::__NR_shutdown as usize }>(fd, how as usize) };
}

/// `fork()`, as `clone(SIGCHLD, 0)`: the child's pid in the parent, 0 in the child,
/// -errno on error on every architecture (so an error never passes for the child).
///
/// clone, not fork: aarch64, riscv64 and loongarch64 have no fork. With no other flag
/// and a null stack (the child runs on a copy of ours), the parent/child tid and TLS
/// arguments, whose order differs between architectures, are never read. s390x alone
/// takes the stack first and the flags second (CLONE_BACKWARDS2).
#[inline(always)]
pub fn fork() -> isize {
    #[cfg(not(target_arch = "s390x"))]
    let (a, b) = (SIGCHLD as usize, 0);
    #[cfg(target_arch = "s390x")]
    let (a, b) = (0, SIGCHLD as usize);
    // SAFETY: like fork(2): the child gets a copy of our memory and returns here too.
    unsafe { arch::syscall2_errno::<{ linux::__NR_clone as usize }>(a, b) }
}

/// `SIG_IGN`: `((__sighandler_t)1)` in <asm-generic/signal-defs.h>, the same on every
/// architecture; linux-raw-sys has no pointer-valued macros.
const SIG_IGN: usize = 1;

/// The architectures whose kernel knows SA_RESTORER: the flag, and the restorer word
/// in `struct sigaction`.
#[cfg(not(any(target_arch = "riscv64", target_arch = "loongarch64", target_arch = "mips64")))]
mod restorer {
    pub type Word = usize;
    pub const FLAG: u32 = super::linux::SA_RESTORER;
    pub const fn word(handler: usize) -> Word {
        handler
    }
}
/// The others have no such word (and find their way back from a handler in the vDSO).
#[cfg(any(target_arch = "riscv64", target_arch = "loongarch64", target_arch = "mips64"))]
mod restorer {
    pub type Word = ();
    pub const FLAG: u32 = 0;
    pub const fn word(_: usize) -> Word {}
}

/// The kernel's `struct sigaction`, as `rt_sigaction(2)` reads it: handler, flags,
/// restorer (where the architecture has one), mask; MIPS puts a 32-bit flags word
/// first (the IRIX layout). Our own struct, with a plain word for the handler (SIG_IGN
/// is 1, not a function); the asserts below hold it to linux-raw-sys's
/// `kernel_sigaction` (on MIPS to its `sigaction`: its `kernel_sigaction` has the
/// generic order there, which is not what the MIPS kernel reads).
///
/// Build one with `SigAction::handler`, install it for some signals, switch it to
/// `ignore` and install it for others: one struct in memory, one word changed.
#[repr(C)]
pub struct SigAction {
    #[cfg(target_arch = "mips64")]
    flags: u32,
    handler: usize,
    #[cfg(not(target_arch = "mips64"))]
    flags: usize,
    restorer: restorer::Word,
    /// `SigSet`'s bits in words: built at run time (httpd's, on the stack), words
    /// take fewer stores than bytes.
    mask: [usize; SIGSET_WORDS],
}

#[cfg(not(target_arch = "mips64"))]
const _: () = {
    type K = linux::kernel_sigaction;
    assert!(size_of::<SigAction>() == size_of::<K>());
    assert!(offset_of!(SigAction, handler) == offset_of!(K, sa_handler_kernel));
    assert!(offset_of!(SigAction, flags) == offset_of!(K, sa_flags));
    #[cfg(not(any(target_arch = "riscv64", target_arch = "loongarch64")))]
    assert!(offset_of!(SigAction, restorer) == offset_of!(K, sa_restorer));
    assert!(offset_of!(SigAction, mask) == offset_of!(K, sa_mask));
};
#[cfg(target_arch = "mips64")]
const _: () = {
    type K = linux::sigaction;
    assert!(size_of::<SigAction>() == size_of::<K>());
    assert!(offset_of!(SigAction, handler) == offset_of!(K, sa_handler));
    assert!(offset_of!(SigAction, flags) == offset_of!(K, sa_flags));
    assert!(offset_of!(SigAction, mask) == offset_of!(K, sa_mask));
};

impl SigAction {
    /// Run `handler` on the signal. It must never return (exit from it): the handler
    /// is its own restorer, there is nothing to return through. x86_64's kernel
    /// refuses to deliver a signal without SA_RESTORER (it has no other way back from
    /// a handler), so the flag is set on every architecture that knows it.
    #[inline(always)]
    pub fn handler(handler: extern "C" fn(i32) -> !) -> SigAction {
        SigAction {
            handler: handler as usize,
            flags: restorer::FLAG as _,
            restorer: restorer::word(handler as usize),
            mask: [0; SIGSET_WORDS],
        }
    }

    /// Make it SIG_IGN (the kernel reads no restorer then). For SIGPIPE, so that a
    /// write to a closed connection fails with EPIPE instead of killing us; for
    /// SIGCHLD, so that the kernel reaps exited children by itself: no zombies.
    #[inline(always)]
    pub fn ignore(&mut self) {
        self.handler = SIG_IGN;
    }

    /// `rt_sigaction(signal, self, NULL)`. No result: it cannot fail for a valid
    /// signal other than SIGKILL and SIGSTOP, and a struct of the layout checked above.
    #[inline(always)]
    pub fn install(&self, signal: u32) {
        install(signal, self as *const SigAction as usize);
    }
}

/// SIG_IGN with no flags, as `struct sigaction` (`SigAction`) lays it out, in bytes:
/// built at compile time for a `static`, which then needs no alignment (the kernel
/// copies it from any address). For SIGCHLD, so that the kernel reaps exited
/// children by itself.
#[repr(C)]
pub struct Ignore([u8; size_of::<SigAction>()]);

impl Ignore {
    pub const fn new() -> Ignore {
        let mut bytes = [0; size_of::<SigAction>()];
        let handler = SIG_IGN.to_ne_bytes();
        let mut k = 0;
        while k < handler.len() {
            bytes[offset_of!(SigAction, handler) + k] = handler[k];
            k += 1;
        }
        Ignore(bytes)
    }

    /// `rt_sigaction(signal, self, NULL)`, as `SigAction::install`.
    #[inline(always)]
    pub fn install(&self, signal: u32) {
        install(signal, self as *const Ignore as usize);
    }
}

impl Default for Ignore {
    fn default() -> Ignore {
        Ignore::new()
    }
}

/// `rt_sigaction(signal, action, NULL)` for a `struct sigaction` at `action`.
#[inline(always)]
fn install(signal: u32, action: usize) {
    // SAFETY: the kernel reads a `struct sigaction` at `action` (`SigAction`'s layout,
    // checked above) and a mask of the size it expects; no old action is written.
    unsafe {
        arch::syscall4_raw::<{ linux::__NR_rt_sigaction as usize }>(signal as usize, action, 0, size_of::<SigSet>())
    };
}

/// SIGALRM in `seconds`, whose default action ends the process; the timer is not
/// inherited by children (fork). `alarm(seconds)` where the architecture has it (one
/// register, no memory), else `setitimer(ITIMER_REAL, seconds, NULL)`, which is what
/// the kernel's alarm does: arm's EABI, aarch64, riscv64 and loongarch64 have no alarm.
#[cfg(has_alarm)] // build.rs
#[inline(always)]
pub fn alarm(seconds: usize) {
    // SAFETY: no memory. (It cannot fail: no result.)
    unsafe { arch::syscall1_raw::<{ linux::__NR_alarm as usize }>(seconds) };
}

/// See the other `alarm`: this one for the architectures without alarm(2).
#[cfg(not(has_alarm))]
#[inline(always)]
pub fn alarm(seconds: usize) {
    let zero = linux::__kernel_old_timeval { tv_sec: 0, tv_usec: 0 };
    let timer = linux::__kernel_old_itimerval {
        it_interval: zero,
        it_value: linux::__kernel_old_timeval { tv_sec: seconds as _, tv_usec: 0 },
    };
    // SAFETY: the kernel reads `timer`; no old value is written.
    unsafe {
        arch::syscall3_raw::<{ linux::__NR_setitimer as usize }>(
            linux::ITIMER_REAL as usize,
            &timer as *const linux::__kernel_old_itimerval as usize,
            0,
        )
    };
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

    /// Whether the first argument after the program's name is `-<letter>`, the
    /// letter's case ignored: pause.c's `argc > 1 && !strcasecmp(argv[1], "-v")`.
    /// `letter` is lower case.
    #[inline(always)]
    pub fn first_is_flag(&self, letter: u8) -> bool {
        // SAFETY: argv[0..argc] are followed by a null pointer, so argv[1] can be read
        // (null when argc is 1; with argc = 0, which only kernels before 5.18 allow, it
        // is the first environment string or null). Byte by byte, a NUL-terminated
        // string's bytes are each read only when those before it are not NUL (&& stops
        // at the first miss). As one word, up to 3 bytes past a string's NUL are read:
        // the kernel (and qemu-user) copy the argument strings below the environment's,
        // the program's path and a zero word that end the stack's mapping, so they are
        // mapped, and nobody writes them; the mask drops the fourth byte.
        unsafe {
            let s = *self.argv.add(1);
            if arch::WORD_LOADS_ANYWHERE {
                !s.is_null()
                    && u32::from_le_bytes(s.cast::<[u8; 4]>().read_unaligned()) & 0x00ff_dfff
                        == u32::from_le_bytes([b'-', letter & !0x20, 0, 0])
            } else {
                !s.is_null() && *s == b'-' && *s.add(1) | 0x20 == letter && *s.add(2) == 0
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
