//! hello for aarch64 Linux: `svc #0` with the number in x8, arguments in x0, x1, x2.
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
            asm!("svc #0",
                in("x8") 64, inlateout("x0") fd => ret, in("x1") buf.as_ptr(), in("x2") buf.len(),
                options(nostack, readonly, preserves_flags));
        }
        ret
    }

    #[inline(always)]
    fn exit(status: usize) -> ! {
        // SAFETY: exit(2) does not return.
        unsafe { asm!("svc #0", in("x8") 93, in("x0") status, options(noreturn, nostack)) }
    }
}

hello::entry!(Linux);
