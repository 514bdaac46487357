//! Linux system calls on loongarch64: `syscall 0` with the number in a7, arguments in a0-a4;
//! the result in a0 (-errno on error). The kernel may clobber t0-t8.
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
                asm!("syscall 0", in("$a7") N, inlateout("$a0") a as isize => ret, $(in($reg) $arg,)*
                    out("$t0") _, out("$t1") _, out("$t2") _, out("$t3") _, out("$t4") _,
                    out("$t5") _, out("$t6") _, out("$t7") _, out("$t8") _, options(nostack, preserves_flags));
            }
            ret
        }
    )*};
}

syscalls! {
    syscall1();
    syscall2(b in "$a1");
    syscall3(b in "$a1", c in "$a2");
    syscall4(b in "$a1", c in "$a2", d in "$a3");
    syscall5(b in "$a1", c in "$a2", d in "$a3", e in "$a4");
}

/// # Safety
/// The system call `N` without arguments must be sound.
#[inline(always)]
pub unsafe fn syscall0<const N: usize>() -> isize {
    let ret;
    unsafe {
        asm!("syscall 0", in("$a7") N, lateout("$a0") ret, out("$t0") _, out("$t1") _, out("$t2") _, out("$t3") _, out("$t4") _,
                    out("$t5") _, out("$t6") _, out("$t7") _, out("$t8") _, options(nostack, preserves_flags))
    };
    ret
}

/// The system call `N` (exit) with one argument; it never returns.
#[inline(always)]
pub fn exit<const N: usize>(status: usize) -> ! {
    // SAFETY: exit(2) does not return.
    unsafe { asm!("syscall 0", in("$a7") N, in("$a0") status, options(noreturn, nostack)) }
}

/// `_start` that calls `$main(initial stack pointer)`.
#[macro_export]
macro_rules! start_with_stack {
    ($main:path) => {
        #[unsafe(no_mangle)]
        #[unsafe(naked)]
        extern "C" fn _start() -> ! {
            core::arch::naked_asm!("move $a0, $sp", "b {}", sym $main)
        }
    };
}
