//! Linux system calls on x86_64: `syscall` with the number in rax, arguments in rdi,
//! rsi, rdx, r10, r8; the result in rax (-errno on error). The instruction clobbers rcx
//! (return address) and r11 (flags), and preserves the flags it saved.
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
                asm!("syscall", inlateout("rax") N as isize => ret, $(in($reg) $arg,)*
                    lateout("rcx") _, lateout("r11") _, options(nostack, preserves_flags));
            }
            ret
        }
    )*};
}

syscalls! {
    syscall0();
    syscall1(a in "rdi");
    syscall2(a in "rdi", b in "rsi");
    syscall3(a in "rdi", b in "rsi", c in "rdx");
    syscall4(a in "rdi", b in "rsi", c in "rdx", d in "r10");
    syscall5(a in "rdi", b in "rsi", c in "rdx", d in "r10", e in "r8");
}

/// The system call `N` (exit) with one argument; it never returns.
#[inline(always)]
pub fn exit<const N: usize>(status: usize) -> ! {
    // SAFETY: exit(2) does not return.
    unsafe { asm!("syscall", in("rax") N, in("rdi") status, options(noreturn, nostack)) }
}

/// `_start` that goes to `$main(initial stack pointer)`. The callee must find the
/// stack aligned as the ABI promises after a call (rsp + 8 a multiple of 16): `push
/// rax` does what `call` would, without a return address (main never returns, and
/// nothing reads the pushed word). `jmp`, not `call`: a call's return cannot be
/// traced, so the shrinker could not pack the code, and a jump to the instruction that
/// follows it costs nothing once packed (the packer drops it).
#[macro_export]
macro_rules! start_with_stack {
    ($main:path) => {
        #[unsafe(no_mangle)]
        #[unsafe(naked)]
        extern "C" fn _start() -> ! {
            core::arch::naked_asm!("mov rdi, rsp", "push rax", "jmp {}", sym $main)
        }
    };
}
