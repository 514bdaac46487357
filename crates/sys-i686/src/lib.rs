//! Linux system calls on 32-bit x86: `int 0x80` with the number in eax, arguments in
//! ebx, ecx, edx, esi, edi; the result in eax (-errno on error). Nothing else is clobbered.
//! LLVM keeps esi for itself (a base pointer), so the fourth argument is swapped in
//! and out around the call.
#![no_std]

use core::arch::asm;

macro_rules! syscalls {
    ($($name:ident($($arg:ident in $reg:tt),*);)*) => {$(
        /// # Safety
        /// The system call `N` with these arguments must be sound (memory it reads or writes).
        #[inline(always)]
        pub unsafe fn $name<const N: usize>($($arg: usize),*) -> isize {
            let ret;
            unsafe {
                asm!("int 0x80", inlateout("eax") N as isize => ret, $(in($reg) $arg,)*
                    options(nostack, preserves_flags));
            }
            ret
        }
    )*};
}

syscalls! {
    syscall0();
    syscall1(a in "ebx");
    syscall2(a in "ebx", b in "ecx");
    syscall3(a in "ebx", b in "ecx", c in "edx");
}

/// # Safety
/// The system call `N` with these arguments must be sound (memory it reads or writes).
#[inline(always)]
pub unsafe fn syscall4<const N: usize>(a: usize, b: usize, c: usize, d: usize) -> isize {
    let ret;
    unsafe {
        asm!("xchg esi, {d}", "int 0x80", "xchg esi, {d}", d = inout(reg) d => _,
            inlateout("eax") N as isize => ret, in("ebx") a, in("ecx") b, in("edx") c,
            options(nostack, preserves_flags));
    }
    ret
}

/// # Safety
/// The system call `N` with these arguments must be sound (memory it reads or writes).
#[inline(always)]
pub unsafe fn syscall5<const N: usize>(a: usize, b: usize, c: usize, d: usize, e: usize) -> isize {
    let ret;
    unsafe {
        asm!("xchg esi, {d}", "int 0x80", "xchg esi, {d}", d = inout(reg) d => _,
            inlateout("eax") N as isize => ret, in("ebx") a, in("ecx") b, in("edx") c, in("edi") e,
            options(nostack, preserves_flags));
    }
    ret
}

/// The system call `N` (exit) with one argument; it never returns.
#[inline(always)]
pub fn exit<const N: usize>(status: usize) -> ! {
    // SAFETY: exit(2) does not return.
    unsafe { asm!("int 0x80", in("eax") N, in("ebx") status, options(noreturn, nostack)) }
}

/// `_start` that goes to `$main(initial stack pointer)` (cdecl: the argument on the
/// stack, at [esp + 4] as after a call; `push esp` pushes the value esp had before
/// the push, `push eax` stands where the return address would: main never returns,
/// nothing reads it). `jmp`, not `call`: a call's return cannot be traced, so the
/// shrinker could not pack the code, and a jump to the instruction that follows it
/// costs nothing once packed (the packer drops it).
#[macro_export]
macro_rules! start_with_stack {
    ($main:path) => {
        #[unsafe(no_mangle)]
        #[unsafe(naked)]
        extern "C" fn _start() -> ! {
            core::arch::naked_asm!("push esp", "push eax", "jmp {}", sym $main)
        }
    };
}
