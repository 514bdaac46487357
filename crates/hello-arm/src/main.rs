//! hello for 32-bit ARM Linux (EABI), built as Thumb code for armv5 (Thumb-1),
//! armv6 (Thumb-1) and armv7 (Thumb-2): `svc #0` with the number in r7, arguments in
//! r0, r1, r2. One source for the three: the arch table picks the target.
//!
//! In Thumb code LLVM reserves r7 as the frame pointer, so it cannot be an asm operand:
//! write() saves and restores it around the call; exit() never returns, so it need not.
#![no_std]
#![no_main]

use core::arch::asm;
use hello::Kernel;

struct Linux;

impl Kernel for Linux {
    #[inline(always)]
    fn write(fd: usize, buf: &[u8]) -> isize {
        let ret;
        // SAFETY: write(2) only reads `buf`; r7 is pushed and popped around it.
        unsafe {
            asm!("push {{r7}}", "movs r7, #4", "svc #0", "pop {{r7}}",
                inlateout("r0") fd => ret, in("r1") buf.as_ptr(), in("r2") buf.len(),
                options(readonly));
        }
        ret
    }

    #[inline(always)]
    fn exit(status: usize) -> ! {
        // SAFETY: exit(2) does not return, so clobbering r7 is harmless.
        unsafe { asm!("movs r7, #1", "svc #0", in("r0") status, options(noreturn, nostack)) }
    }
}

hello::entry!(Linux);
