//! Linux system calls on 64-bit little-endian MIPS, n64 ABI: `syscall` with the number
//! in $2 (v0; n64 numbers start at 5000), arguments in $4-$8; the result in $2. On
//! error the kernel sets $7 (a3) and returns a *positive* errno in $2, which could
//! pass for a result: `movn` makes it 0 then, in one instruction. The `_errno` calls,
//! for system calls whose success may be 0, negate it instead (`dsubu` into $3, which
//! the call clobbers anyway, then `movn`), so that errors read as -errno as elsewhere.
//!
//! The syscall ABI clobbers $3, $7, $10-$15, $24 and $25, and $1, hi and lo. The asm
//! declares all but the last three. Rust cannot name $1 (the assembler's temporary)
//! as a clobber, and LLVM allocates it like any other register; hi and lo have no
//! name in Rust's asm either. Keeping $1 in another register across each call cost
//! two moves (8 bytes) a call. Instead `cargo xtask build` proves on the linked code
//! that no value in $1, hi or lo outlives a syscall (every path writes them before it
//! reads them: `elf::isa::UndeclaredClobber`, the proof in mips64.rs). That is the only
//! case where the missing clobber could matter, so the code that passes runs as if it
//! were declared. Where LLVM did keep a value in $1 across one, the build builds again
//! with `HELLO_KEEP_UNDECLARED_CLOBBER` set, and each call keeps $1 in $8 (a4, which
//! the kernel preserves; in `syscall5`, whose fifth argument is $8, in $9), then checks
//! again.
//! (qemu-user leaves $1 alone; only a real kernel changes it: its syscall entry uses
//! $1 and does not restore it.)
//!
//! Inline asm on MIPS is still unstable: `asm_experimental_arch`.
#![no_std]
#![feature(asm_experimental_arch)]
// start_with_stack! expands in the program's crate, which has no MIPS asm feature.
#![allow(internal_features)]
#![feature(allow_internal_unstable)]

use core::arch::asm;

include!("../../keeps_clobbered.rs");

/// Whether the syscall numbered `n` keeps $1 (see above): `cargo xtask build` lists
/// the syscalls across which the program holds a value in $1.
const fn keeps_at(n: usize) -> bool {
    keeps_clobbered(option_env!("HELLO_KEEP_UNDECLARED_CLOBBER"), n)
}

macro_rules! syscalls {
    ($($name:ident($($param:ident),*: $($arg:ident in $reg:tt),*; $($clobbered:ident in $creg:tt),*)
        save $save:tt, clobber [$($clobber:tt),*] $($fixup:literal),*;)*) => {$(
        /// # Safety
        /// The system call `N` with these arguments must be sound (memory it reads or writes).
        #[inline(always)]
        pub unsafe fn $name<const N: usize>($($param: usize),*) -> isize {
            let ret;
            if const { keeps_at(N) } {
                unsafe {
                    asm!(".set noat", concat!("move ", $save, ", $1"), "syscall", $($fixup,)*
                        concat!("move $1, ", $save), ".set at",
                        inlateout("$2") N as isize => ret, $(in($reg) $arg,)* $(inlateout($creg) $clobbered => _,)*
                        out($save) _, $(out($clobber) _,)* out("$3") _, out("$10") _, out("$11") _, out("$12") _,
                        out("$13") _, out("$14") _, out("$15") _, out("$24") _, out("$25") _,
                        options(nostack));
                }
            } else {
                unsafe {
                    asm!("syscall", $($fixup,)*
                        inlateout("$2") N as isize => ret, $(in($reg) $arg,)* $(inlateout($creg) $clobbered => _,)*
                        $(out($clobber) _,)* out("$3") _, out("$10") _, out("$11") _, out("$12") _,
                        out("$13") _, out("$14") _, out("$15") _, out("$24") _, out("$25") _,
                        options(nostack));
                }
            }
            ret
        }
    )*};
}

// The kernel writes $7 (the error flag): an argument there is clobbered, and without
// one $7 is. Where `keeps_at`, $1 is kept in `save`.
// `movn $2, $0, $7`: 0 on error. The `_errno` ones: $3 = -$2, then $2 = $3 on error.
// The `_raw` ones leave the result as the kernel gave it (a positive errno on error).
syscalls! {
    syscall0(: ;) save "$8", clobber ["$7"] "movn $2, $0, $7";
    syscall1(a: a in "$4";) save "$8", clobber ["$7"] "movn $2, $0, $7";
    syscall2(a, b: a in "$4", b in "$5";) save "$8", clobber ["$7"] "movn $2, $0, $7";
    syscall3(a, b, c: a in "$4", b in "$5", c in "$6";) save "$8", clobber ["$7"] "movn $2, $0, $7";
    syscall4(a, b, c, d: a in "$4", b in "$5", c in "$6"; d in "$7") save "$8", clobber [] "movn $2, $0, $7";
    syscall5(a, b, c, d, e: a in "$4", b in "$5", c in "$6", e in "$8"; d in "$7") save "$9", clobber [] "movn $2, $0, $7";
    syscall2_errno(a, b: a in "$4", b in "$5";) save "$8", clobber ["$7"] "dsubu $3, $0, $2", "movn $2, $3, $7";
    syscall3_errno(a, b, c: a in "$4", b in "$5", c in "$6";) save "$8", clobber ["$7"] "dsubu $3, $0, $2", "movn $2, $3, $7";
    syscall0_raw(: ;) save "$8", clobber ["$7"];
    syscall1_raw(a: a in "$4";) save "$8", clobber ["$7"];
    syscall2_raw(a, b: a in "$4", b in "$5";) save "$8", clobber ["$7"];
    syscall3_raw(a, b, c: a in "$4", b in "$5", c in "$6";) save "$8", clobber ["$7"];
    syscall4_raw(a, b, c, d: a in "$4", b in "$5", c in "$6"; d in "$7") save "$8", clobber [];
    syscall5_raw(a, b, c, d, e: a in "$4", b in "$5", c in "$6", e in "$8"; d in "$7") save "$9", clobber [];
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
