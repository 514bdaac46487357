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
    ($($name:ident($($param:ident),*: $($arg:ident in $reg:tt),*; $($clobbered:ident in $creg:tt),*)
        save $save:tt, clobber [$($clobber:tt),*] $($fixup:literal),*;)*) => {$(
        /// # Safety
        /// The system call `N` with these arguments must be sound (memory it reads or writes).
        #[inline(always)]
        pub unsafe fn $name<const N: usize>($($param: usize),*) -> isize {
            let ret;
            unsafe {
                asm!(".set noat", concat!("move ", $save, ", $1"), "syscall", $($fixup,)*
                    concat!("move $1, ", $save), ".set at",
                    inlateout("$2") N as isize => ret, $(in($reg) $arg,)* $(inlateout($creg) $clobbered => _,)*
                    $(out($clobber) _,)* out("$3") _, out("$10") _, out("$11") _, out("$12") _,
                    out("$13") _, out("$14") _, out("$15") _, out("$24") _, out("$25") _,
                    options(nostack));
            }
            ret
        }
    )*};
}

// The kernel writes $7 (the error flag): an argument there is clobbered, and without
// one $7 is. $1 is kept in $8, or in $9 where $8 is the fifth argument.
// `movn $2, $0, $7`: 0 on error. The `_errno` ones: $3 = -$2, then $2 = $3 on error.
// The `_raw` ones leave the result as the kernel gave it (a positive errno on error).
syscalls! {
    syscall0(: ;) save "$8", clobber ["$7", "$8"] "movn $2, $0, $7";
    syscall1(a: a in "$4";) save "$8", clobber ["$7", "$8"] "movn $2, $0, $7";
    syscall2(a, b: a in "$4", b in "$5";) save "$8", clobber ["$7", "$8"] "movn $2, $0, $7";
    syscall3(a, b, c: a in "$4", b in "$5", c in "$6";) save "$8", clobber ["$7", "$8"] "movn $2, $0, $7";
    syscall4(a, b, c, d: a in "$4", b in "$5", c in "$6"; d in "$7") save "$8", clobber ["$8"] "movn $2, $0, $7";
    syscall5(a, b, c, d, e: a in "$4", b in "$5", c in "$6", e in "$8"; d in "$7") save "$9", clobber ["$9"] "movn $2, $0, $7";
    syscall2_errno(a, b: a in "$4", b in "$5";) save "$8", clobber ["$7", "$8"] "dsubu $3, $0, $2", "movn $2, $3, $7";
    syscall3_errno(a, b, c: a in "$4", b in "$5", c in "$6";) save "$8", clobber ["$7", "$8"] "dsubu $3, $0, $2", "movn $2, $3, $7";
    syscall0_raw(: ;) save "$8", clobber ["$7", "$8"];
    syscall1_raw(a: a in "$4";) save "$8", clobber ["$7", "$8"];
    syscall2_raw(a, b: a in "$4", b in "$5";) save "$8", clobber ["$7", "$8"];
    syscall3_raw(a, b, c: a in "$4", b in "$5", c in "$6";) save "$8", clobber ["$7", "$8"];
    syscall4_raw(a, b, c, d: a in "$4", b in "$5", c in "$6"; d in "$7") save "$8", clobber ["$8"];
    syscall5_raw(a, b, c, d, e: a in "$4", b in "$5", c in "$6", e in "$8"; d in "$7") save "$9", clobber ["$9"];
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
