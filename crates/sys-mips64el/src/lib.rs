//! Linux system calls on 64-bit little-endian MIPS, n64 ABI: `syscall` with the number
//! in $2 (v0; n64 numbers start at 5000), arguments in $4-$8; the result in $2. On
//! error the kernel sets $7 (a3) and returns a *positive* errno in $2, which could
//! pass for a result: `movn` makes it 0 then, in one instruction. The `_errno` calls,
//! for system calls whose success may be 0, negate it instead (`dsubu` into $3, which
//! the call clobbers anyway, then `movn`), so that errors read as -errno as elsewhere.
//!
//! The syscall ABI clobbers $3, $7, $10-$15, $24 and $25, and $1, hi and lo. No code
//! here keeps values in hi or lo, but LLVM does allocate $1 (the assembler's
//! temporary), and Rust cannot name it as a clobber: each call keeps it in $8 (a4,
//! which the kernel preserves; in `syscall5`, whose fifth argument is $8, in $9).
//! qemu-user leaves $1 alone; only a real kernel showed it.
//!
//! Inline asm on MIPS is still unstable: `asm_experimental_arch`.
#![no_std]
#![feature(asm_experimental_arch)]
// start_with_stack! expands in the program's crate, which has no MIPS asm feature.
#![allow(internal_features)]
#![feature(allow_internal_unstable)]

use core::arch::asm;

macro_rules! syscalls {
    ($($name:ident($($arg:ident in $reg:tt),*) $($fixup:literal),*;)*) => {$(
        /// # Safety
        /// The system call `N` with these arguments must be sound (memory it reads or writes).
        #[inline(always)]
        pub unsafe fn $name<const N: usize>($($arg: usize),*) -> isize {
            let ret;
            unsafe {
                asm!(".set noat", "move $8, $1", "syscall", $($fixup,)* "move $1, $8", ".set at",
                    inlateout("$2") N as isize => ret, $(in($reg) $arg,)*
                    out("$3") _, out("$7") _, out("$8") _, out("$10") _, out("$11") _, out("$12") _,
                    out("$13") _, out("$14") _, out("$15") _, out("$24") _, out("$25") _,
                    options(nostack));
            }
            ret
        }
    )*};
}

syscalls! {
    syscall0() "movn $2, $0, $7";
    syscall1(a in "$4") "movn $2, $0, $7";
    syscall2(a in "$4", b in "$5") "movn $2, $0, $7";
    syscall3(a in "$4", b in "$5", c in "$6") "movn $2, $0, $7";
    syscall2_errno(a in "$4", b in "$5") "dsubu $3, $0, $2", "movn $2, $3, $7";
    syscall3_errno(a in "$4", b in "$5", c in "$6") "dsubu $3, $0, $2", "movn $2, $3, $7";
}

/// # Safety
/// The system call `N` with these arguments must be sound (memory it reads or writes).
#[inline(always)]
pub unsafe fn syscall4<const N: usize>(a: usize, b: usize, c: usize, d: usize) -> isize {
    let ret;
    unsafe {
        asm!(".set noat", "move $8, $1", "syscall", "movn $2, $0, $7", "move $1, $8", ".set at",
            inlateout("$2") N as isize => ret, in("$4") a, in("$5") b, in("$6") c, inlateout("$7") d => _,
            out("$3") _, out("$8") _, out("$10") _, out("$11") _, out("$12") _,
            out("$13") _, out("$14") _, out("$15") _, out("$24") _, out("$25") _,
            options(nostack));
    }
    ret
}

/// # Safety
/// The system call `N` with these arguments must be sound (memory it reads or writes).
#[inline(always)]
pub unsafe fn syscall5<const N: usize>(a: usize, b: usize, c: usize, d: usize, e: usize) -> isize {
    let ret;
    unsafe {
        asm!(".set noat", "move $9, $1", "syscall", "movn $2, $0, $7", "move $1, $9", ".set at",
            inlateout("$2") N as isize => ret, in("$4") a, in("$5") b, in("$6") c, inlateout("$7") d => _,
            in("$8") e, out("$3") _, out("$9") _, out("$10") _, out("$11") _, out("$12") _,
            out("$13") _, out("$14") _, out("$15") _, out("$24") _, out("$25") _,
            options(nostack));
    }
    ret
}

/// The system call `N` (exit) with one argument; it never returns.
#[inline(always)]
pub fn exit<const N: usize>(status: usize) -> ! {
    // SAFETY: exit(2) does not return. (A 32-bit number: `addiu`, as any n64 one fits.)
    unsafe { asm!("syscall", in("$2") N as i32, in("$4") status, options(noreturn, nostack)) }
}

/// `_start` that calls `$main(initial stack pointer)`, the move in the branch's
/// delay slot.
#[macro_export]
#[allow_internal_unstable(asm_experimental_arch)]
macro_rules! start_with_stack {
    ($main:path) => {
        #[unsafe(no_mangle)]
        #[unsafe(naked)]
        extern "C" fn _start() -> ! {
            core::arch::naked_asm!(".set noreorder", "b {}", "move $4, $29", ".set reorder", sym $main)
        }
    };
}
