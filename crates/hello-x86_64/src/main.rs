//! hello for x86_64 Linux: `syscall` with the number in rax, arguments in rdi, rsi, rdx.
#![no_std]
#![no_main]

use core::arch::asm;
use hello::Kernel;

struct Linux;

impl Kernel for Linux {
    #[inline(always)]
    fn write(fd: usize, buf: &[u8]) -> isize {
        let ret;
        // SAFETY: write(2) only reads `buf`; `syscall` clobbers rcx and r11.
        unsafe {
            asm!("syscall",
                inlateout("rax") 1isize => ret,
                in("rdi") fd, in("rsi") buf.as_ptr(), in("rdx") buf.len(),
                lateout("rcx") _, lateout("r11") _,
                options(nostack, readonly, preserves_flags));
        }
        ret
    }

    #[inline(always)]
    fn exit(status: usize) -> ! {
        // SAFETY: exit(2) does not return.
        unsafe { asm!("syscall", in("rax") 60, in("rdi") status, options(noreturn, nostack)) }
    }
}

hello::entry!(Linux);
