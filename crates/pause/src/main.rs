//! pause: what Kubernetes' build/pause/linux/pause.c does, without libc.
//!
//! - `-v` as the first argument (case ignored, as pause.c) prints the version and exits 0.
//! - Not PID 1: a warning on stderr, and it works all the same (pause sees use outside
//!   of pods too).
//! - As PID 1 it reaps every child reparented to it, so a pod that shares its PID
//!   namespace leaves no zombies.
//! - SIGINT or SIGTERM: exit 0 at once, so `docker stop` returns at once.
//!
//! pause.c installs handlers. The kernel drops a signal whose action is the default
//! when it is sent to PID 1 of a PID namespace from inside it, and a handler needs a
//! restorer (sa_restorer) on most architectures: we block SIGINT and SIGTERM instead
//! and take them with rt_sigtimedwait. A blocked signal is never dropped, it stays
//! pending until taken.
//!
//! Reaping, one of two ways, whichever is smaller on the architecture
//! (`sys::arch::KERNEL_REAPS`; both behave the same):
//! - SIGCHLD ignored (SIG_IGN): the kernel reaps each child as it exits, a zombie
//!   reparented to us at once (POSIX: the children of a process that ignores
//!   SIGCHLD do not become zombies). No loop, but a `struct sigaction` in the data.
//! - SIGCHLD blocked and waited for with the other two; on each, wait4(-1, WNOHANG)
//!   until no exited child is left, as pause.c's handler does. SIGCHLD from children
//!   that merely stopped also wakes us: wait4 then finds nothing to reap, and we wait
//!   again.
#![no_std]
#![no_main]

use sys::{Args, Ignore, SIGCHLD, SIGINT, SIGTERM, SigSet, WNOHANG, arch::KERNEL_REAPS};

static VERSION: &[u8] = concat!("pause ", env!("CARGO_PKG_VERSION"), "\n").as_bytes();
static NOT_PID_1: &[u8] = b"pause: not PID 1\n";

/// The signals we wait for; all others keep their default actions.
static SIGNALS: SigSet =
    if KERNEL_REAPS { SigSet::of(&[SIGINT, SIGTERM]) } else { SigSet::of(&[SIGINT, SIGTERM, SIGCHLD]) };
const _: () = assert!(SIGINT < SIGCHLD && SIGTERM < SIGCHLD);
/// SIGCHLD's action where the kernel reaps.
static IGNORE: Ignore = Ignore::new();

#[inline(always)] // into the entry: LLVM never inlines a `-> !` function by itself
fn main(args: Args) -> ! {
    if args.first_is_flag(b'v') {
        sys::write_best_effort(1, VERSION);
    } else {
        if sys::getpid() != 1 {
            sys::write_best_effort(2, NOT_PID_1);
        }
        if KERNEL_REAPS {
            IGNORE.install(SIGCHLD);
        }
        sys::block(&SIGNALS);
        loop {
            if !KERNEL_REAPS {
                // First, and after every wake: children that exited before we
                // blocked SIGCHLD, or while we were reaping, are collected too.
                while sys::wait4(-1, WNOHANG) > 0 {}
            }
            let signal = sys::wait_signal(&SIGNALS);
            // Errors (EINTR) are <= 0. Where SIGCHLD is in the set, it is numbered
            // above both others (asserted above): one range check where two
            // comparisons would be.
            let taken = if KERNEL_REAPS { signal > 0 } else { (1..SIGCHLD as isize).contains(&signal) };
            if taken {
                break;
            }
        }
    }
    // One exit for both ways out: the version printed, or SIGINT/SIGTERM taken.
    sys::exit(0)
}

sys::entry_with_args!(main);
