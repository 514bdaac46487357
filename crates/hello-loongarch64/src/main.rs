//! hello for LoongArch64 Linux: `syscall 0` with the number in a7, arguments in a0,
//! a1, a2; the result in a0. The kernel may change t0-t8, so they are clobbered.
#![no_std]
#![no_main]

use core::arch::asm;
use hello::Kernel;

struct Linux;

impl Kernel for Linux {
    #[inline(always)]
    fn write(fd: usize, buf: &[u8]) -> isize {
        let ret;
        // SAFETY: write(2) only reads `buf`; the syscall ABI clobbers t0-t8.
        unsafe {
            asm!("syscall 0",
                in("$a7") 64, inlateout("$a0") fd => ret, in("$a1") buf.as_ptr(), in("$a2") buf.len(),
                out("$t0") _, out("$t1") _, out("$t2") _, out("$t3") _, out("$t4") _,
                out("$t5") _, out("$t6") _, out("$t7") _, out("$t8") _,
                options(nostack, readonly, preserves_flags));
        }
        ret
    }

    #[inline(always)]
    fn exit(status: usize) -> ! {
        // SAFETY: exit(2) does not return.
        unsafe { asm!("syscall 0", in("$a7") 93, in("$a0") status, options(noreturn, nostack)) }
    }
}

hello::entry!(Linux);
