//! hello for 32-bit x86 Linux: `int 0x80` with the number in eax, arguments in ebx,
//! ecx, edx. Built for the i686 baseline: no SSE or SSE2 instructions.
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
            asm!("int 0x80",
                inlateout("eax") 4isize => ret,
                in("ebx") fd, in("ecx") buf.as_ptr(), in("edx") buf.len(),
                options(nostack, readonly, preserves_flags));
        }
        ret
    }

    #[inline(always)]
    fn exit(status: usize) -> ! {
        // SAFETY: exit(2) does not return.
        unsafe { asm!("int 0x80", in("eax") 1, in("ebx") status, options(noreturn, nostack)) }
    }
}

hello::entry!(Linux);
