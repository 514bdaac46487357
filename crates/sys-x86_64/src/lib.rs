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

/// `_start` that calls `$main(initial stack pointer)`. `call`, not `jmp`: the callee
/// then finds the stack aligned as the ABI promises (rsp + 8 a multiple of 16).
#[macro_export]
macro_rules! start_with_stack {
    ($main:path) => {
        #[unsafe(no_mangle)]
        #[unsafe(naked)]
        extern "C" fn _start() -> ! {
            core::arch::naked_asm!("mov rdi, rsp", "call {}", sym $main)
        }
    };
}
