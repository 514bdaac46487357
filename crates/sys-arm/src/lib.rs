//! Linux system calls on 32-bit ARM (EABI), in Thumb code for armv5, armv6 and armv7:
//! `svc #0` with the number in r7, arguments in r0-r4; the result in r0 (-errno on
//! error). Nothing else is clobbered.
//!
//! In Thumb code LLVM reserves r7 as the frame pointer, so Rust refuses it as an asm
//! operand or clobber; yet with frame pointers omitted LLVM allocates r7 like any
//! other register, and takes it to be kept across the asm. Saving and restoring it
//! around each call (`push {r7}`, `pop {r7}`) costs 4 bytes a call. Instead `cargo
//! xtask build` proves on the linked code that no value in r7 outlives a syscall
//! (every path from every entry writes all of r7 before it reads it:
//! `elf::isa::UndeclaredClobber`, the proof in arm.rs). That is the only case where
//! the missing clobber could matter, so the code that passes runs as if it were
//! declared. Where LLVM did keep a value in r7 across one, the build builds again with
//! `HELLO_KEEP_UNDECLARED_CLOBBER` set, and each call saves and restores r7. `exit`
//! never returns, so it never needs to. Thumb-1's `movs` takes 8 bits: a larger number
//! is built in three instructions.
#![no_std]

use core::arch::asm;

include!("../../keeps_clobbered.rs");

/// Whether the syscall numbered `n` keeps r7 (see above): `cargo xtask build` lists
/// the syscalls across which the program holds a value in r7.
const fn keeps_r7(n: usize) -> bool {
    keeps_clobbered(option_env!("HELLO_KEEP_UNDECLARED_CLOBBER"), n)
}

macro_rules! syscalls {
    ($($name:ident($($arg:ident in $reg:tt),*);)*) => {$(
        /// # Safety
        /// The system call `N` with these arguments must be sound (memory it reads or writes).
        #[inline(always)]
        pub unsafe fn $name<const N: usize>(a: usize $(, $arg: usize)*) -> isize {
            let ret;
            if const { keeps_r7(N) } {
                unsafe {
                    asm!("push {{r7}}",
                        ".if {n} < 256", "movs r7, #{n}",
                        ".else", "movs r7, #({n} >> 8)", "lsls r7, r7, #8", "adds r7, #({n} & 255)", ".endif",
                        "svc #0", "pop {{r7}}",
                        n = const N, inlateout("r0") a as isize => ret, $(in($reg) $arg,)*);
                }
            } else {
                unsafe {
                    asm!(".if {n} < 256", "movs r7, #{n}",
                        ".else", "movs r7, #({n} >> 8)", "lsls r7, r7, #8", "adds r7, #({n} & 255)", ".endif",
                        "svc #0",
                        n = const N, inlateout("r0") a as isize => ret, $(in($reg) $arg,)*);
                }
            }
            ret
        }
    )*};
}

syscalls! {
    syscall1();
    syscall2(b in "r1");
    syscall3(b in "r1", c in "r2");
    syscall4(b in "r1", c in "r2", d in "r3");
    syscall5(b in "r1", c in "r2", d in "r3", e in "r4");
}

/// # Safety
/// The system call `N` without arguments must be sound.
#[inline(always)]
pub unsafe fn syscall0<const N: usize>() -> isize {
    // SAFETY: the caller's; r0 carries no argument in.
    unsafe { syscall1::<N>(0) }
}

/// The system call `N` (exit, below 256) with one argument; it never returns.
#[inline(always)]
pub fn exit<const N: usize>(status: usize) -> ! {
    // SAFETY: exit(2) does not return, so clobbering r7 is harmless.
    unsafe { asm!("movs r7, #{n}", "svc #0", n = const N, in("r0") status, options(noreturn, nostack)) }
}

/// `_start` that calls `$main(initial stack pointer)`.
#[macro_export]
macro_rules! start_with_stack {
    ($main:path) => {
        #[unsafe(no_mangle)]
        #[unsafe(naked)]
        extern "C" fn _start() -> ! {
            core::arch::naked_asm!("mov r0, sp", "b {}", sym $main)
        }
    };
}
