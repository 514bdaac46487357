//! Linux system calls on aarch64: `svc #0` with the number in x8, arguments in x0-x4;
//! the result in x0 (-errno on error). Nothing else is clobbered.
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
                asm!("svc #0", in("x8") N, inlateout("x0") a as isize => ret, $(in($reg) $arg,)*
                    options(nostack, preserves_flags));
            }
            ret
        }
    )*};
}

syscalls! {
    syscall1();
    syscall2(b in "x1");
    syscall3(b in "x1", c in "x2");
    syscall4(b in "x1", c in "x2", d in "x3");
    syscall5(b in "x1", c in "x2", d in "x3", e in "x4");
}

/// # Safety
/// The system call `N` without arguments must be sound.
#[inline(always)]
pub unsafe fn syscall0<const N: usize>() -> isize {
    let ret;
    unsafe { asm!("svc #0", in("x8") N, lateout("x0") ret, options(nostack, preserves_flags)) };
    ret
}

/// The system call `N` (exit) with one argument; it never returns.
#[inline(always)]
pub fn exit<const N: usize>(status: usize) -> ! {
    // SAFETY: exit(2) does not return.
    unsafe { asm!("svc #0", in("x8") N, in("x0") status, options(noreturn, nostack)) }
}

/// `_start` that calls `$main(initial stack pointer)`.
#[macro_export]
macro_rules! start_with_stack {
    ($main:path) => {
        #[unsafe(no_mangle)]
        #[unsafe(naked)]
        extern "C" fn _start() -> ! {
            core::arch::naked_asm!("mov x0, sp", "b {}", sym $main)
        }
    };
}
