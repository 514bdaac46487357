//! hello for 64-bit RISC-V Linux: `ecall` with the number in a7, arguments in a0, a1,
//! a2; the result comes back in a0 and nothing else changes.
#![no_std]
#![no_main]

use core::arch::asm;
use hello::Kernel;

struct Linux;

impl Kernel for Linux {
    #[inline(always)]
    fn write(fd: usize, buf: &[u8]) -> isize {
        let ret;
        // SAFETY: write(2) only reads `buf`.
        unsafe {
            asm!("ecall",
                in("a7") 64, inlateout("a0") fd => ret, in("a1") buf.as_ptr(), in("a2") buf.len(),
                options(nostack, readonly, preserves_flags));
        }
        ret
    }

    #[inline(always)]
    fn exit(status: usize) -> ! {
        // SAFETY: exit(2) does not return.
        unsafe { asm!("ecall", in("a7") 93, in("a0") status, options(noreturn, nostack)) }
    }
}

hello::entry!(Linux);
