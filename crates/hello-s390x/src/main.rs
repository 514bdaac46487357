//! hello for s390x Linux: `svc N` with a system call number below 256 encoded in the
//! instruction itself (so r1 need not be loaded), arguments in r2, r3, r4, the result
//! in r2.
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
            asm!("svc 4",
                inlateout("r2") fd => ret, in("r3") buf.as_ptr(), in("r4") buf.len(),
                options(nostack, readonly, preserves_flags));
        }
        ret
    }

    #[inline(always)]
    fn exit(status: usize) -> ! {
        // SAFETY: exit(2) does not return.
        unsafe { asm!("svc 1", in("r2") status, options(noreturn, nostack)) }
    }
}

hello::entry!(Linux);
