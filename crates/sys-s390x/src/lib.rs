//! Linux system calls on s390x: `svc N` with a number below 256 encoded in the
//! instruction itself (so r1 need not be loaded; a larger one goes in r1 with
//! `svc 0`), arguments in r2-r6; the result in r2 (-errno on error).
#![no_std]

use core::arch::asm;

macro_rules! syscalls {
    ($($name:ident($($arg:ident in $reg:tt),*);)*) => {$(
        /// # Safety
        /// The system call `N` with these arguments must be sound (memory it reads or writes).
        #[inline(always)]
        pub unsafe fn $name<const N: usize>(a: usize $(, $arg: usize)*) -> isize {
            let ret;
            unsafe {
                asm!(".if {n} < 256", "svc {n}", ".else", "lghi %r1, {n}", "svc 0", ".endif",
                    n = const N, inlateout("r2") a as isize => ret, $(in($reg) $arg,)* out("r1") _,
                    options(nostack, preserves_flags));
            }
            ret
        }
    )*};
}

syscalls! {
    syscall1();
    syscall2(b in "r3");
    syscall3(b in "r3", c in "r4");
    syscall4(b in "r3", c in "r4", d in "r5");
    syscall5(b in "r3", c in "r4", d in "r5", e in "r6");
}

/// # Safety
/// The system call `N` without arguments must be sound.
#[inline(always)]
pub unsafe fn syscall0<const N: usize>() -> isize {
    // SAFETY: the caller's; r2 carries no argument in.
    unsafe { syscall1::<N>(0) }
}

/// The system call `N` (exit, below 256) with one argument; it never returns.
#[inline(always)]
pub fn exit<const N: usize>(status: usize) -> ! {
    // SAFETY: exit(2) does not return.
    unsafe { asm!("svc {n}", n = const N, in("r2") status, options(noreturn, nostack)) }
}

/// `_start` that calls `$main(initial stack pointer)`, with a 160-byte frame of our
/// own: the callee saves registers in its caller's frame, where argc and argv are.
#[macro_export]
macro_rules! start_with_stack {
    ($main:path) => {
        #[unsafe(no_mangle)]
        #[unsafe(naked)]
        extern "C" fn _start() -> ! {
            core::arch::naked_asm!("lgr %r2, %r15", "aghi %r15, -160", "jg {}", sym $main)
        }
    };
}
