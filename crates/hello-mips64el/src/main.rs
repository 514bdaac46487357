//! hello for 64-bit little-endian MIPS Linux, n64 ABI: `syscall` with the number in
//! $2 (v0; n64 numbers start at 5000), arguments in $4, $5, $6. On error the kernel
//! sets $7 (a3) and returns a *positive* errno in $2, which could equal the message
//! length: `movn` makes it 0 then, in one instruction.
//!
//! Inline asm on MIPS is still unstable: `asm_experimental_arch`.
#![no_std]
#![no_main]
#![feature(asm_experimental_arch)]

use core::arch::asm;
use hello::Kernel;

struct Linux;

impl Kernel for Linux {
    #[inline(always)]
    fn write(fd: usize, buf: &[u8]) -> isize {
        let ret;
        // SAFETY: write(2) only reads `buf`; the syscall ABI clobbers $3, $7, $10-$15,
        // $24 and $25, and $1, hi and lo. No code here keeps values in hi or lo, but
        // LLVM does allocate $1 (the assembler's temporary), and Rust cannot name it
        // as a clobber: the asm keeps it in $8 (a4, which the kernel preserves) across
        // the call. qemu-user leaves $1 alone; only a real kernel showed this.
        unsafe {
            asm!(".set noat", "move $8, $1", "syscall", "movn $2, $0, $7", "move $1, $8", ".set at",
                inlateout("$2") 5001usize => ret,
                in("$4") fd, in("$5") buf.as_ptr(), in("$6") buf.len(),
                out("$3") _, out("$7") _, out("$8") _, out("$10") _, out("$11") _,
                out("$12") _, out("$13") _, out("$14") _, out("$15") _, out("$24") _, out("$25") _,
                options(nostack, readonly));
        }
        ret
    }

    #[inline(always)]
    fn exit(status: usize) -> ! {
        // SAFETY: exit(2) does not return.
        unsafe { asm!("syscall", in("$2") 5058, in("$4") status, options(noreturn, nostack)) }
    }
}

hello::entry!(Linux);
