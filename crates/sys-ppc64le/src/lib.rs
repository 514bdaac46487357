//! Linux system calls on 64-bit little-endian PowerPC (ELFv2): `sc` with the number in
//! r0, arguments in r3-r7; the result in r3. The volatile registers (r0, r4-r12, cr0,
//! ctr, xer) are clobbered. On error the kernel sets CR0[SO] and returns a *positive*
//! errno, which could pass for a result: `isel` (POWER7 and later) makes it 0 then, in
//! one instruction. The `_errno` calls, for system calls whose success may be 0,
//! negate it instead (two instructions), so that errors read as -errno as elsewhere.
#![no_std]

use core::arch::asm;

macro_rules! syscalls {
    ($($name:ident($($a:ident)?; $($arg:ident in $reg:tt),*; unused $($unused:tt),*) $($fixup:literal),*;)*) => {$(
        /// # Safety
        /// The system call `N` with these arguments must be sound (memory it reads or writes).
        #[inline(always)]
        pub unsafe fn $name<const N: usize>($($a: usize,)? $($arg: usize),*) -> isize {
            let ret;
            unsafe {
                asm!("sc", $($fixup,)*
                    inlateout("r0") N => _, $(in("r3") $a,)? lateout("r3") ret,
                    $(inlateout($reg) $arg => _,)* $(out($unused) _,)*
                    out("r8") _, out("r9") _, out("r10") _, out("r11") _, out("r12") _,
                    out("cr0") _, out("ctr") _, out("xer") _, options(nostack));
            }
            ret
        }
    )*};
}

// The volatile argument registers a call does not use are clobbered all the same.
// `isel 3, 0, 3, 3`: r3 = CR0[SO] ? 0 : r3. The `_errno` ones: r4 = -r3, then
// r3 = CR0[SO] ? r4 : r3 (r4 is clobbered anyway). The `_raw` ones leave r3 as the
// kernel gave it (a positive errno on error). r3 is no input to `syscall0`: it needs
// no value.
syscalls! {
    syscall0(;; unused "r4", "r5", "r6", "r7") "isel 3, 0, 3, 3";
    syscall1(a;; unused "r4", "r5", "r6", "r7") "isel 3, 0, 3, 3";
    syscall2(a; b in "r4"; unused "r5", "r6", "r7") "isel 3, 0, 3, 3";
    syscall3(a; b in "r4", c in "r5"; unused "r6", "r7") "isel 3, 0, 3, 3";
    syscall4(a; b in "r4", c in "r5", d in "r6"; unused "r7") "isel 3, 0, 3, 3";
    syscall5(a; b in "r4", c in "r5", d in "r6", e in "r7"; unused) "isel 3, 0, 3, 3";
    syscall2_errno(a; b in "r4"; unused "r5", "r6", "r7") "neg 4, 3", "isel 3, 4, 3, 3";
    syscall3_errno(a; b in "r4", c in "r5"; unused "r6", "r7") "neg 4, 3", "isel 3, 4, 3, 3";
    syscall0_raw(;; unused "r4", "r5", "r6", "r7");
    syscall1_raw(a;; unused "r4", "r5", "r6", "r7");
    syscall2_raw(a; b in "r4"; unused "r5", "r6", "r7");
    syscall3_raw(a; b in "r4", c in "r5"; unused "r6", "r7");
    syscall4_raw(a; b in "r4", c in "r5", d in "r6"; unused "r7");
    syscall5_raw(a; b in "r4", c in "r5", d in "r6", e in "r7"; unused);
}

/// The system call `N` (exit) with one argument; it never returns.
#[inline(always)]
pub fn exit<const N: usize>(status: usize) -> ! {
    // SAFETY: exit(2) does not return.
    unsafe { asm!("sc", in("r0") N, in("r3") status, options(noreturn, nostack)) }
}

/// `_start` that calls `$main(initial stack pointer)`: the TOC pointer (r2) from r12,
/// which the ELFv2 ABI says holds the entry address, and a frame of our own, since
/// the callee may save registers in its caller's frame (where argc and argv are).
/// One `addi` sets r2, not the compiler's addis/addi pair: link.ld puts the TOC base
/// within 32 KiB above all of the code (and asserts it), so the high half is 0.
/// `b` goes to `$main`'s local entry, past its own TOC set-up: the minimizer drops
/// both, the set-up unreached and the jump then to what follows it.
#[macro_export]
macro_rules! start_with_stack {
    ($main:path) => {
        #[unsafe(no_mangle)]
        #[unsafe(naked)]
        extern "C" fn _start() -> ! {
            core::arch::naked_asm!(
                "addi 2, 12, (.TOC. - _start)@l",
                "mr 3, 1",
                "stdu 1, -32(1)",
                "b {}",
                sym $main
            )
        }
    };
}
